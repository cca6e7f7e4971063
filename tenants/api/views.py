"""Tenant API: who am I, the current tenant, its members and API keys."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from mono.api import schema_generation
from tenants import selectors, services
from tenants.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MembershipCreateSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    MeSerializer,
    TenantSerializer,
    TenantUpdateSerializer,
)
from tenants.models import ApiKey, Membership
from tenants.permissions import Permission


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        me = {
            "user": request.user,
            "tenant": request.tenant,
            "role": request.membership.role,
            "auth": "api_key" if isinstance(request.auth, ApiKey) else "session",
        }
        return Response(MeSerializer(me).data)


class CurrentTenantView(APIView):
    required_permissions = {"patch": Permission.MANAGE}

    @extend_schema(responses=TenantSerializer)
    def get(self, request):
        return Response(TenantSerializer(request.tenant).data)

    @extend_schema(request=TenantUpdateSerializer, responses=TenantSerializer)
    def patch(self, request):
        serializer = TenantUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_update(tenant=request.tenant, **serializer.validated_data)
        return Response(TenantSerializer(tenant).data)


class MemberViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = MembershipSerializer
    required_permissions = {
        "create": Permission.MANAGE,
        "partial_update": Permission.MANAGE,
        "destroy": Permission.MANAGE,
    }

    def get_queryset(self):
        if schema_generation(self):
            return Membership.objects.none()
        return selectors.member_list(tenant=self.request.tenant)

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request):
        serializer = MembershipCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add_by_username(
            tenant=request.tenant,
            username=serializer.validated_data["username"],
            role=serializer.validated_data["role"],
            actor=request.user,
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request, pk=None):
        serializer = MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_set_role(
            membership=self.get_object(), role=serializer.validated_data["role"], actor=request.user
        )
        return Response(MembershipSerializer(membership).data)

    def destroy(self, request, pk=None):
        services.membership_remove(membership=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A member manages their own keys; admins and owners see and revoke all of the tenant's."""

    serializer_class = ApiKeySerializer

    def get_queryset(self):
        if schema_generation(self):
            return ApiKey.objects.none()
        keys = selectors.api_key_list(tenant=self.request.tenant)
        if self.request.membership.role in ("owner", "admin"):
            return keys
        return keys.filter(user=self.request.user)

    required_permissions = {"create": Permission.VIEW, "revoke": Permission.VIEW}

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, raw_key = services.api_key_create(
            tenant=request.tenant,
            user=request.user,
            name=serializer.validated_data["name"],
            actor=request.user,
        )
        api_key.key = raw_key
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        api_key = services.api_key_revoke(api_key=get_object_or_404(self.get_queryset(), pk=pk), actor=request.user)
        return Response(ApiKeySerializer(api_key).data)
