from django.urls import path

from konsilo.web.decisions import views

app_name = "decisions"
urlpatterns = [
    path("o/<slug:slug>/c/<slug:key>/proposals/", views.council_proposals, name="council"),
    path("o/<slug:slug>/c/<slug:key>/proposals/new/", views.new_proposal, name="new"),
    path("p/<str:pid>/", views.proposal_page, name="proposal"),
    path("p/<str:pid>/step/", views.step, name="step"),
    path("p/<str:pid>/vote/", views.vote, name="vote"),
    path("p/<str:pid>/comment/", views.comment, name="comment"),
    path("p/<str:pid>/comments/<str:cid>/hide/", views.hide, name="hide"),
    path("p/<str:pid>/minority/", views.minority, name="minority"),
    path("p/<str:pid>/minority/<str:rid>/sign/", views.cosign, name="cosign"),
]
