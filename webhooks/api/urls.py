from django.urls import path

from mono.api import OptionalSlashRouter
from webhooks.api.views import IntegrationViewSet, WebhookEventViewSet, ingest

router = OptionalSlashRouter()
router.register("webhooks/integrations", IntegrationViewSet, basename="webhook-integration")
router.register("webhooks/logs", WebhookEventViewSet, basename="webhook-event")

urlpatterns = [
    path("webhooks/integration/<str:slug>", ingest, name="webhook-ingest"),
    *router.urls,
]
