from django.urls import path

from mono.api import OptionalSlashRouter
from workflows.api.views import (
    ApprovalViewSet,
    EmailTemplateViewSet,
    ExecutionViewSet,
    NodeTypesView,
    TemplateViewSet,
    WorkflowViewSet,
)

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("workflow-templates", TemplateViewSet, basename="workflow-template")
router.register("email-templates", EmailTemplateViewSet, basename="email-template")

urlpatterns = [path("node-types", NodeTypesView.as_view(), name="node-types"), *router.urls]
