"""URL map: pages, the JSON API under /api/v1/, and the record's static log."""

from django.urls import include, path

from konsilo.web.api.api import api

urlpatterns = [
    path("accounts/", include("konsilo.web.accounts.urls")),
    path("api/v1/", api.urls),
    path("log/", include("konsilo.web.ledger.urls")),
    path("", include("konsilo.web.decisions.urls")),
    path("", include("konsilo.web.federation.urls")),
    path("", include("konsilo.web.councils.urls")),
]
