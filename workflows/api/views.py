"""Workflow API: definitions and versions, executions, approvals, templates."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from mono.api import LimitOffsetOrCursorPagination, schema_generation, validated
from tenants.permissions import Permission
from workflows import library, selectors
from workflows.api.serializers import (
    ApprovalSerializer,
    DecideSerializer,
    DefinitionDetailSerializer,
    DefinitionFilterSerializer,
    DefinitionSerializer,
    DefinitionWriteSerializer,
    EmailTemplateSerializer,
    ExecuteSerializer,
    ExecutionDetailSerializer,
    ExecutionFilterSerializer,
    ExecutionSerializer,
    GraphSerializer,
    InstantiateSerializer,
    ScheduleSerializer,
    TemplateSerializer,
    UsageQuerySerializer,
    VersionSerializer,
)
from workflows.graph.catalogue import node_catalogue
from workflows.graph.compiler import diff_definitions
from workflows.models import ApprovalRequest, EmailTemplate, WorkflowDefinition, WorkflowExecution
from workflows.services import approvals, definitions, email_templates, executions, schedules

STATUS_FILTER = OpenApiParameter("status", str, description="only this status")


class WorkflowViewSet(viewsets.ModelViewSet):
    """Workflow definitions. A changed `definition` creates a new version; DELETE archives."""

    required_permissions = {
        "execute": Permission.EXECUTE,
        "validate": Permission.VIEW,
        "restore": Permission.EDIT,
        "schedule_pause": Permission.EXECUTE,
        "schedule_resume": Permission.EXECUTE,
    }
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if schema_generation(self):
            return WorkflowDefinition.objects.none()
        params = self.request.query_params
        tag = validated(DefinitionFilterSerializer, params).get("tag") if self.action == "list" else None
        return selectors.definition_list(
            tenant=self.request.tenant, status=params.get("status"), name=params.get("name"), tag=tag
        )

    def get_object(self):
        # Detail routes find archived definitions too; the list hides them unless asked.
        queryset = selectors.definition_list(tenant=self.request.tenant, include_archived=True)
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get_serializer_class(self):
        return DefinitionSerializer if self.action == "list" else DefinitionDetailSerializer

    @extend_schema(
        parameters=[
            STATUS_FILTER,
            OpenApiParameter("name", str, description="name contains (case-insensitive)"),
            OpenApiParameter("tag", str, description="only those with this tag"),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DefinitionWriteSerializer, responses={201: DefinitionDetailSerializer})
    def create(self, request):
        data = validated(DefinitionWriteSerializer, request.data)
        definition = definitions.definition_create(
            tenant=request.tenant,
            name=data["name"],
            graph=data["definition"],
            description=data.get("description", ""),
            status=data.get("status", "draft"),
            tags=data.get("tags"),
            actor=request.user,
        )
        return Response(self._detail(definition), status=status.HTTP_201_CREATED)

    @extend_schema(request=DefinitionWriteSerializer, responses=DefinitionDetailSerializer)
    def partial_update(self, request, pk=None):
        data = validated(DefinitionWriteSerializer, request.data, partial=True)
        graph = data.pop("definition", None)
        definition = definitions.definition_update(
            definition=self.get_object(), actor=request.user, graph=graph, **data
        )
        return Response(self._detail(definition))

    def destroy(self, request, pk=None):
        definitions.definition_archive(definition=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=GraphSerializer, responses={200: dict})
    @action(detail=False, methods=["post"])
    def validate(self, request):
        """Dry validation for the editor: every problem, each naming its node/edge and field."""
        graph = validated(GraphSerializer, request.data)["definition"]
        errors = definitions.graph_problems(graph=graph, tenant=request.tenant)
        return Response({"valid": not errors, "errors": errors})

    @extend_schema(responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request, pk=None):
        versions = selectors.version_list(tenant=request.tenant, definition=self.get_object())
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(request=None, responses=DefinitionDetailSerializer)
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>\d+)/restore")
    def restore(self, request, pk=None, number=None):
        definition = self.get_object()
        version = get_object_or_404(selectors.version_list(tenant=request.tenant, definition=definition), number=number)
        definition = definitions.version_restore(definition=definition, version=version, actor=request.user)
        return Response(self._detail(definition))

    @extend_schema(parameters=[OpenApiParameter("from", int), OpenApiParameter("to", int)], responses={200: dict})
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """Nodes and edges added, removed and changed between two versions."""
        versions = selectors.version_list(tenant=request.tenant, definition=self.get_object())
        old = get_object_or_404(versions, number=request.query_params.get("from") or 0)
        new = get_object_or_404(versions, number=request.query_params.get("to") or 0)
        return Response(diff_definitions(old.graph, new.graph))

    @extend_schema(request=ExecuteSerializer, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def execute(self, request, pk=None):
        data = validated(ExecuteSerializer, request.data)
        execution = executions.execution_start(
            tenant=request.tenant, definition=self.get_object(), input=data["input"], actor=request.user
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[STATUS_FILTER], responses=ExecutionSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="executions")
    def execution_history(self, request, pk=None):
        runs = selectors.execution_list(
            tenant=request.tenant, definition=self.get_object(), status=request.query_params.get("status")
        )
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)

    @extend_schema(responses=ScheduleSerializer)
    @action(detail=True, methods=["get"])
    def schedule(self, request, pk=None):
        """The workflow's Temporal Schedule: paused or not, next fire times, recent fires (404: none)."""
        return Response(ScheduleSerializer(schedules.schedule_describe(definition=self.get_object())).data)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"], url_path="schedule/pause")
    def schedule_pause(self, request, pk=None):
        state = schedules.schedule_pause(definition=self.get_object(), actor=request.user)
        return Response(ScheduleSerializer(state).data)

    @extend_schema(request=None, responses=ScheduleSerializer)
    @action(detail=True, methods=["post"], url_path="schedule/resume")
    def schedule_resume(self, request, pk=None):
        state = schedules.schedule_resume(definition=self.get_object(), actor=request.user)
        return Response(ScheduleSerializer(state).data)

    def _detail(self, definition) -> dict:
        return DefinitionDetailSerializer(definition).data


class ExecutionViewSet(viewsets.ReadOnlyModelViewSet):
    required_permissions = {"cancel": Permission.EXECUTE}
    lookup_value_regex = "[^/]+"  # execution ids are business keys, not numbers

    pagination_class = LimitOffsetOrCursorPagination

    def get_queryset(self):
        if schema_generation(self):
            return WorkflowExecution.objects.none()
        filters = validated(ExecutionFilterSerializer, self.request.query_params) if self.action == "list" else {}
        return selectors.execution_list(
            tenant=self.request.tenant,
            status=filters.get("status"),
            workflow_id=filters.get("workflow"),
            started_by=filters.get("started_by"),
            trigger=filters.get("trigger"),
            created_after=filters.get("created_after"),
            created_before=filters.get("created_before"),
        )

    def get_serializer_class(self):
        return ExecutionSerializer if self.action == "list" else ExecutionDetailSerializer

    @extend_schema(parameters=[ExecutionFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=[UsageQuerySerializer], responses={200: dict})
    @action(detail=False, methods=["get"])
    def stats(self, request):
        """Usage over a span of days: runs per day by status, duration p50/p95 per workflow, and
        the workflows whose runs spent most on LLM calls."""
        span = validated(UsageQuerySerializer, request.query_params)
        return Response(
            {
                "since": span["since"].isoformat(),
                "until": span["until"].isoformat(),
                "runs_per_day": selectors.execution_counts_by_day(tenant=request.tenant, **span),
                "durations": selectors.execution_durations(tenant=request.tenant, **span),
                "top_workflows_by_cost": selectors.workflows_by_llm_cost(tenant=request.tenant, **span),
            }
        )

    @extend_schema(request=None, responses={202: ExecutionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = executions.execution_cancel(execution=self.get_object(), actor=request.user)
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_202_ACCEPTED)


class ApprovalViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's approval inbox: approvals they may decide (`?status=pending`, `?execution=`)."""

    serializer_class = ApprovalSerializer
    required_permissions = {"decide": Permission.APPROVE}

    def get_queryset(self):
        if schema_generation(self):
            return ApprovalRequest.objects.none()
        params = self.request.query_params
        return selectors.approval_list(
            tenant=self.request.tenant,
            user=self.request.user,
            status=params.get("status"),
            execution_id=params.get("execution"),
            mine=params.get("mine"),
        )

    @extend_schema(
        parameters=[
            STATUS_FILTER,
            OpenApiParameter("execution", str, description="only this run's"),
            OpenApiParameter(
                "mine", str, enum=["waiting", "decided"], description="waiting for my vote, or decided by me"
            ),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DecideSerializer, responses=ApprovalSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        data = validated(DecideSerializer, request.data)
        # Any approval of the tenant is found here, so a non-approver gets 403 rather than 404.
        approval = get_object_or_404(selectors.approval_list(tenant=request.tenant), pk=pk)
        approvals.approval_decide(
            approval=approval, user=request.user, decision=data["decision"], comment=data["comment"]
        )
        approval.refresh_from_db()
        return Response(ApprovalSerializer(approval).data)


class TemplateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The template library; instantiating one creates a draft definition from it."""

    serializer_class = TemplateSerializer
    pagination_class = None
    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9-]+"
    required_permissions = {"instantiate": Permission.EDIT}

    def get_queryset(self):
        return list(library.TEMPLATES.values())

    @extend_schema(request=InstantiateSerializer, responses={201: DefinitionDetailSerializer})
    @action(detail=True, methods=["post"])
    def instantiate(self, request, slug=None):
        template = library.TEMPLATES.get(slug)
        if template is None:
            return Response({"detail": f"No template {slug!r}."}, status=status.HTTP_404_NOT_FOUND)
        data = validated(InstantiateSerializer, request.data)
        definition = definitions.definition_create(
            tenant=request.tenant,
            name=data.get("name") or template.name,
            graph=template.definition,
            description=template.description,
            actor=request.user,
        )
        return Response(DefinitionDetailSerializer(definition).data, status=status.HTTP_201_CREATED)


class EmailTemplateViewSet(viewsets.ModelViewSet):
    """E-mail templates an EmailNode names (`data.template`). Reading needs `view`, writing `manage`.

    POST creates or replaces the template of that name; PATCH changes subject or body."""

    serializer_class = EmailTemplateSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    required_permissions = dict.fromkeys(("create", "partial_update", "destroy"), Permission.MANAGE)

    def get_queryset(self):
        if schema_generation(self):
            return EmailTemplate.objects.none()
        return EmailTemplate.objects.for_tenant(self.request.tenant)

    def create(self, request):
        data = validated(EmailTemplateSerializer, request.data)
        template = email_templates.email_template_save(tenant=request.tenant, **data)
        return Response(EmailTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template = self.get_object()
        data = validated(EmailTemplateSerializer, request.data, partial=True)
        template = email_templates.email_template_save(
            tenant=request.tenant,
            name=template.name,
            subject=data.get("subject", template.subject),
            body=data.get("body", template.body),
        )
        return Response(EmailTemplateSerializer(template).data)

    def destroy(self, request, pk=None):
        email_templates.email_template_delete(template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class NodeTypesView(APIView):
    """The node-type catalogue: each type's alias, branch handles, look, default data and the form
    of its `data` (fields, kinds, help), built from the engine's own registry."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response(node_catalogue())
