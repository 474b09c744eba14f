from django.urls import path

from konsilo.web.federation import views

app_name = "federation"
urlpatterns = [
    path("p/<str:pid>/send/", views.send, name="send"),
    path("p/<str:pid>/delegation-vote/", views.delegation_vote, name="delegation_vote"),
    path("p/<str:pid>/amend/", views.amend, name="amend"),
    path("p/<str:pid>/list-amendment/", views.list_amendment, name="list_amendment"),
    path("p/<str:pid>/postpone/", views.postpone, name="postpone"),
    path("o/<slug:slug>/report-back/", views.report_back, name="report_back"),
]
