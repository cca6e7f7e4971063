"""Websocket routes of the workflows app (mounted by `mono.asgi`)."""

from django.urls import re_path

from workflows.consumers import ExecutionStreamConsumer, TenantStreamConsumer

# Ids and slugs are matched with ASCII characters only: they become channel-layer group names,
# which allow nothing else.
websocket_urlpatterns = [
    re_path(r"^ws/executions/(?P<execution_id>[A-Za-z0-9_-]{1,64})/$", ExecutionStreamConsumer.as_asgi()),
    re_path(r"^ws/tenants/(?P<slug>[A-Za-z0-9_-]{1,63})/executions/$", TenantStreamConsumer.as_asgi()),
]
