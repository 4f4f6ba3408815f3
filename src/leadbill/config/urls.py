"""URL routes: the REST API, the staff console, the partner portal and sign-in; probes and metrics."""

from django.urls import include, path

from leadbill.api.main import api
from leadbill.web import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("console/", include("leadbill.console.urls")),
    path("portal/", include("leadbill.portal.urls")),
    path("", include("leadbill.web.urls")),
]
