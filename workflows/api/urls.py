from mono.api import OptionalSlashRouter
from workflows.api.views import ApprovalViewSet, ExecutionViewSet, TemplateViewSet, WorkflowViewSet

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("workflow-templates", TemplateViewSet, basename="workflow-template")

urlpatterns = router.urls
