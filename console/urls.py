from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workflows/new", views.workflow_new, name="workflow-new"),
    path("workflows/<int:definition_id>/edit", views.workflow_edit, name="workflow-edit"),
    path("executions/<str:execution_id>/", views.execution_monitor, name="execution-monitor"),
]
