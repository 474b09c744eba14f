"""URL map: pages, the JSON API under /api/v1/, and the record's static log."""

urlpatterns: list[object] = []
