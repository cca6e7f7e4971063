"""Inbound webhooks API: the signed ingest endpoint, integrations, and the event log."""

from datetime import timedelta

from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from mono.api import schema_generation, validated
from mono.metrics import record_webhook_event
from tenants.permissions import Permission
from webhooks import selectors
from webhooks.api.serializers import (
    EventFilterSerializer,
    IntegrationSerializer,
    IntegrationUpdateSerializer,
    IntegrationWithSecretSerializer,
    IntegrationWriteSerializer,
    RotateSecretSerializer,
    WebhookEventDetailSerializer,
    WebhookEventSerializer,
)
from webhooks.models import Integration, WebhookEvent
from webhooks.services import integrations, receive
from webhooks.services.replay import event_replay
from workflows.api.serializers import ExecutionSerializer


@csrf_exempt
def ingest(request, slug: str):
    """`POST /api/v1/webhooks/integration/{slug}`: authenticated by its Standard Webhooks signature only.

    202 `{"id", "status"}` for a new event (stored before anything starts), 200 with the first
    event's id for a repeated `webhook-id`; refusals answer `{"detail": ...}` and store nothing.
    """
    if request.method != "POST":
        return JsonResponse({"detail": "Only POST is allowed."}, status=405, headers={"Allow": "POST"})
    try:
        body = _read_body(request)
        received = receive.event_receive(slug=slug, headers=dict(request.headers), body=body)
    except receive.IngestRefused as refusal:
        record_webhook_event(tenant_id=refusal.tenant_id, status="refused")
        return JsonResponse({"detail": refusal.message}, status=refusal.status)
    event = received.event
    return JsonResponse({"id": event.pk, "status": event.status}, status=202 if received.created else 200)


def _read_body(request) -> bytes:
    # Read from the stream rather than `request.body`: that refuses anything over Django's
    # DATA_UPLOAD_MAX_MEMORY_SIZE with its own error, and a chunked body has no length to check.
    limit = receive.MAX_BODY_BYTES
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > limit:
        raise receive.IngestRefused(413, f"The body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise receive.IngestRefused(413, f"The body is larger than {limit} bytes.")
    return body


class IntegrationViewSet(viewsets.ModelViewSet):
    """Integrations: a signed endpoint that starts a workflow. Editing needs `edit`, reading `view`."""

    serializer_class = IntegrationSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_permissions = {"rotate_secret": Permission.EDIT}

    def get_queryset(self):
        if schema_generation(self):
            return Integration.objects.none()
        return selectors.integration_list(tenant=self.request.tenant)

    @extend_schema(request=IntegrationWriteSerializer, responses={201: IntegrationWithSecretSerializer})
    def create(self, request):
        data = validated(IntegrationWriteSerializer, request.data, context={"request": request})
        integration, secret = integrations.integration_create(tenant=request.tenant, actor=request.user, **data)
        integration.secret = secret
        return Response(self._out(integration, IntegrationWithSecretSerializer), status=status.HTTP_201_CREATED)

    @extend_schema(request=IntegrationUpdateSerializer, responses=IntegrationSerializer)
    def partial_update(self, request, pk=None):
        data = validated(IntegrationUpdateSerializer, request.data, context={"request": request})
        integration = integrations.integration_update(integration=self.get_object(), actor=request.user, **data)
        return Response(self._out(integration))

    def destroy(self, request, pk=None):
        integrations.integration_delete(integration=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RotateSecretSerializer, responses=IntegrationWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret; the previous one keeps verifying for `overlap_seconds`."""
        data = validated(RotateSecretSerializer, request.data, context={"request": request})
        integration, secret = integrations.integration_rotate_secret(
            integration=self.get_object(), overlap=timedelta(seconds=data["overlap_seconds"]), actor=request.user
        )
        integration.secret = secret
        return Response(self._out(integration, IntegrationWithSecretSerializer))

    def _out(self, integration, serializer_class=IntegrationSerializer) -> dict:
        return serializer_class(integration, context={"request": self.request}).data


class WebhookEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The tenant's inbound events (`?integration=&status=&since=&until=`), newest first."""

    required_permissions = {"replay": Permission.EXECUTE}

    def get_queryset(self):
        if schema_generation(self):
            return WebhookEvent.objects.none()
        if self.action != "list":
            return selectors.event_list(tenant=self.request.tenant)
        filters = EventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.event_list(tenant=self.request.tenant, **filters.validated_data)

    def get_serializer_class(self):
        return WebhookEventSerializer if self.action == "list" else WebhookEventDetailSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("integration", int),
            OpenApiParameter("status", str),
            OpenApiParameter("since", str, description="ISO 8601; received at or after"),
            OpenApiParameter("until", str, description="ISO 8601; received before"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Run the event's payload again as a new execution (`…-replay-N`)."""
        event = get_object_or_404(selectors.event_list(tenant=request.tenant), pk=pk)
        execution = event_replay(event=event, actor=request.user)
        execution.refresh_from_db()
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)
