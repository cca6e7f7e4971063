from audit.api.views import AuditEventViewSet
from mono.api import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("audit", AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
