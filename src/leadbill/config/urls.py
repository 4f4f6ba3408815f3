"""URL routes; the console, portal and API mount here as they arrive."""

urlpatterns: list[object] = []
