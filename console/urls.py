from django.urls import path

from console import account, approval_pages, media, views

app_name = "console"

urlpatterns = [
    path("login/", account.login_view, name="login"),
    path("logout/", account.logout_view, name="logout"),
    path("account/password/", account.password_change, name="password-change"),
    path("account/password/done/", account.password_change_done, name="password-change-done"),
    path("account/tenant/", account.tenant_switch, name="tenant-switch"),
    path("approvals/link/<str:token>/", approval_pages.approval_link, name="approval-link"),
    path("", views.dashboard, name="dashboard"),
    path("inbox/", views.inbox, name="inbox"),
    path("runs/", views.runs, name="runs"),
    path("usage/", views.usage, name="usage"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:integration_id>/", views.webhook_detail, name="webhook-detail"),
    path("settings/", views.tenant_settings, name="settings"),
    path("media/", views.media_page, name="media"),
    path("media/<int:asset_id>/variants/<str:name>", media.media_variant, name="media-variant"),
    path("media/<int:asset_id>/text", media.media_text, name="media-text"),
    path("workflows/", views.workflows, name="workflows"),
    path("workflows/<int:definition_id>/", views.workflow_detail, name="workflow-detail"),
    path("workflows/new", views.workflow_new, name="workflow-new"),
    path("workflows/<int:definition_id>/edit", views.workflow_edit, name="workflow-edit"),
    path("executions/<str:execution_id>/", views.execution_monitor, name="execution-monitor"),
]
