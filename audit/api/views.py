"""Audit API: the tenant's audit log, read-only, for members who may manage the tenant."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.pagination import CursorPagination

from audit import selectors
from audit.api.serializers import AuditEventFilterSerializer, AuditEventSerializer
from audit.models import AuditEvent
from mono.api import schema_generation
from tenants.permissions import Permission


class AuditEventPagination(CursorPagination):
    """Cursor pages: stable while new events keep arriving, and no COUNT over an ever-growing log."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The tenant's audit log, newest first."""

    serializer_class = AuditEventSerializer
    pagination_class = AuditEventPagination
    # A viewset's permissions are looked up by action (`list`, `retrieve`), not HTTP method.
    required_permissions = {"list": Permission.MANAGE, "retrieve": Permission.MANAGE}

    def get_queryset(self):
        if schema_generation(self):
            return AuditEvent.objects.none()
        filters = {}
        if self.action == "list":
            params = AuditEventFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            filters = params.validated_data
        return selectors.audit_event_list(tenant=self.request.tenant, **filters)

    @extend_schema(parameters=[AuditEventFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
