from django.urls import path, re_path

from konsilo.web.ledger import views

app_name = "ledger"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:slug>/", views.lookup, name="lookup"),
    path("<slug:slug>/checkpoint", views.checkpoint, name="checkpoint"),
    path("<slug:slug>/verifier.key", views.verifier_key, name="verifier_key"),
    path("<slug:slug>/receipt/<int:index>.tlog-proof", views.receipt, name="receipt"),
    re_path(r"^(?P<slug>[-a-zA-Z0-9_]+)/(?P<path>tile/.+)$", views.tile, name="tile"),
]
