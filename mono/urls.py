from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from mono.views import healthz, readyz

api_v1 = [
    path("", include("tenants.api.urls")),
    path("", include("workflows.api.urls")),
    path("", include("llm.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("jobs.api.urls")),
    path(
        "schema",
        SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]),
        name="schema",
    ),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The Temporal UI's codec server (decodes payloads for members of the namespace's tenant).
    path("temporal-codec/", include("tenants.codec")),
    path("", include("django_prometheus.urls")),
    path("", include("console.urls")),
]
