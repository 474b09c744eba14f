from django.urls import path

from konsilo.web.councils import views

app_name = "councils"
urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:slug>/", views.tree, name="tree"),
    path("o/<slug:slug>/import/", views.import_members, name="import"),
    path("o/<slug:slug>/c/<slug:key>/", views.council, name="council"),
]
