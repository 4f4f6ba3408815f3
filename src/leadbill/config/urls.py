"""URL routes: the REST API, the staff console, the partner portal and sign-in."""

from django.urls import include, path

from leadbill.api.main import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("console/", include("leadbill.console.urls")),
    path("portal/", include("leadbill.portal.urls")),
    path("", include("leadbill.web.urls")),
]
