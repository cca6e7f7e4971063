"""LLM API: execute (JSON or Server-Sent Events), batches, providers, analytics, templates."""

import itertools
import json

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from llm import selectors, services
from llm.api.serializers import (
    AnalyticsQuerySerializer,
    BatchSerializer,
    ImageRequestSerializer,
    LLMExecuteSerializer,
    PromptTemplateSerializer,
    PromptTemplateWriteSerializer,
    TranscriptionRequestSerializer,
)
from mono.api import validated
from mono.errors import ServiceError
from tenants.permissions import Permission


class ExecuteView(APIView):
    required_permissions = {"post": Permission.EXECUTE}

    @extend_schema(request=LLMExecuteSerializer, responses={200: dict})
    def post(self, request):
        data = dict(validated(LLMExecuteSerializer, request.data))
        stream = data.pop("stream")
        spec = services.PromptSpec(**data)
        call = services.llm_call(tenant_id=request.tenant.pk, spec=spec, scope="api", user_id=request.user.pk)
        if not stream:
            return Response(services.llm_execute(call=call).as_dict())
        events = services.llm_stream(call=call)
        # The first event is taken now, so limits, budget and refusals still answer as plain
        # HTTP errors (429 with Retry-After, 402, ...) before the stream begins.
        first = next(events)
        response = StreamingHttpResponse(_sse(itertools.chain([first], events)), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


class ImagesView(APIView):
    required_permissions = {"post": Permission.EXECUTE}

    @extend_schema(request=ImageRequestSerializer, responses={200: dict})
    def post(self, request):
        spec = services.ImageSpec(**validated(ImageRequestSerializer, request.data))
        return Response(services.llm_images(tenant=request.tenant, spec=spec, scope="api", user=request.user))


class TranscriptionsView(APIView):
    required_permissions = {"post": Permission.EXECUTE}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=TranscriptionRequestSerializer, responses={200: dict})
    def post(self, request):
        data = dict(validated(TranscriptionRequestSerializer, request.data))
        upload = data.pop("file", None)
        result = services.llm_transcribe(
            tenant_id=request.tenant.pk,
            audio=upload.read() if upload is not None else None,
            filename=(upload.name if upload is not None else "") or "audio",
            media_id=data.pop("media", None),
            scope="api",
            user_id=request.user.pk,
            **data,
        )
        return Response(result)


def _sse(events):
    """`delta` events with text, then one `done` event with usage and cost (or `error`)."""
    try:
        for event in events:
            if isinstance(event, str):
                yield f"event: delta\ndata: {json.dumps({'text': event})}\n\n"
            else:
                yield f"event: done\ndata: {json.dumps(event.as_dict())}\n\n"
    except ServiceError as exc:
        yield f"event: error\ndata: {json.dumps({'status': exc.status_code, 'detail': exc.detail})}\n\n"


class BatchView(APIView):
    required_permissions = {"post": Permission.EXECUTE}

    @extend_schema(request=BatchSerializer, responses={202: dict})
    def post(self, request):
        data = validated(BatchSerializer, request.data)
        batch = services.batch_start(
            tenant=request.tenant, items=data["items"], concurrency=data["concurrency"], user=request.user
        )
        return Response({"id": batch.pk, "status": batch.status, "total": batch.total}, status=status.HTTP_202_ACCEPTED)


class BatchDetailView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, batch_id: str):
        batch = selectors.batch_get(tenant=request.tenant, batch_id=batch_id)
        if batch is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(
            {"id": batch.pk, "status": batch.status, "total": batch.total, "concurrency": batch.concurrency,
             "results": batch.results, "created_at": batch.created_at, "finished_at": batch.finished_at}
        )  # fmt: skip


class ProvidersView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response(selectors.provider_list(tenant=request.tenant))


class AnalyticsView(APIView):
    @extend_schema(parameters=[AnalyticsQuerySerializer], responses={200: dict})
    def get(self, request):
        query = AnalyticsQuerySerializer(
            data={**request.query_params.dict(), "group_by": request.query_params.getlist("group_by")}
        )
        query.is_valid(raise_exception=True)
        group_by = sorted(query.validated_data.get("group_by") or ["provider"])
        rows = selectors.usage_analytics(
            tenant=request.tenant,
            group_by=group_by,
            since=query.validated_data.get("since"),
            until=query.validated_data.get("until"),
        )
        return Response({"group_by": group_by, "rows": rows})


class PromptTemplatesView(APIView):
    required_permissions = {"post": Permission.EDIT}

    @extend_schema(responses=PromptTemplateSerializer(many=True))
    def get(self, request):
        return Response(PromptTemplateSerializer(selectors.prompt_template_list(tenant=request.tenant), many=True).data)

    @extend_schema(request=PromptTemplateWriteSerializer, responses={201: PromptTemplateSerializer})
    def post(self, request):
        data = validated(PromptTemplateWriteSerializer, request.data)
        version = services.prompt_template_save(tenant=request.tenant, actor=request.user, **data)
        return Response(PromptTemplateSerializer(version.template).data, status=status.HTTP_201_CREATED)
