from django.urls import path

from mono.api import OptionalSlashRouter
from tenants.api.views import ApiKeyViewSet, CurrentTenantView, MemberViewSet, MeView

router = OptionalSlashRouter()
router.register("members", MemberViewSet, basename="member")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
    path("tenant", CurrentTenantView.as_view(), name="current-tenant"),
    *router.urls,
]
