from django.urls import path

from jobs.api.views import CampaignViewSet, EmailSendView, MediaViewSet
from mono.api import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("media", MediaViewSet, basename="media")
router.register("email/campaigns", CampaignViewSet, basename="email-campaign")

urlpatterns = [path("email/send", EmailSendView.as_view(), name="email-send"), *router.urls]
