from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants.api.views import ApiKeyViewSet, CurrentTenantView, MemberViewSet, MeView

router = SimpleRouter(trailing_slash="/?")
router.register("members", MemberViewSet, basename="member")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
    path("tenant", CurrentTenantView.as_view(), name="current-tenant"),
    *router.urls,
]
