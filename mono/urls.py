from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe
from drf_spectacular.views import SpectacularAPIView

from mono.views import healthz, metrics, readyz


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; the icon itself is a static file."""
    return redirect(static("favicon.ico"), permanent=True)


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
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The Temporal UI's codec server (decodes payloads for members of the namespace's tenant).
    path("temporal-codec/", include("tenants.codec")),
    path("metrics", metrics, name="prometheus-django-metrics"),
    path("", include("console.urls")),
]

handler500 = "mono.views.server_error"
