"""`/api/v1/llm/limits`: the tenant's rate limits and monthly budgets, per provider or overall.

Reading them (with this month's spend) needs VIEW; setting or dropping them needs MANAGE, the
permission of owners and admins, as the tenant settings page does.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from llm import selectors, services
from llm.api.serializers import LimitSerializer
from llm.gateway.targets import BUILTIN_PROVIDERS
from llm.models import LimitPolicy, ProviderCredential
from mono.api import validated
from tenants.permissions import Permission

PROVIDER_PARAM = OpenApiParameter("provider", str, description="blank or absent: the overall (all providers) policy")


def _known_provider(tenant, provider: str) -> None:
    own = ProviderCredential.objects.for_tenant(tenant).filter(name=provider).exists()
    if provider and provider not in BUILTIN_PROVIDERS and not own:
        known = ", ".join(sorted(BUILTIN_PROVIDERS))
        message = f"Unknown provider {provider!r}: {known} or a credential's name."
        raise serializers.ValidationError({"provider": message})


class LimitsView(APIView):
    required_permissions = {"put": Permission.MANAGE, "delete": Permission.MANAGE}

    @extend_schema(responses=LimitSerializer(many=True))
    def get(self, request):
        return Response(LimitSerializer(selectors.limit_list(tenant=request.tenant), many=True).data)

    @extend_schema(request=LimitSerializer, responses=LimitSerializer)
    def put(self, request):
        """Create or replace the policy for `provider` (null limits are unlimited)."""
        data = validated(LimitSerializer, request.data)
        _known_provider(request.tenant, data["provider"])
        services.limit_policy_save(tenant=request.tenant, **data)
        [row] = [row for row in selectors.limit_list(tenant=request.tenant) if row["provider"] == data["provider"]]
        return Response(LimitSerializer(row).data)

    @extend_schema(parameters=[PROVIDER_PARAM], responses={204: None})
    def delete(self, request):
        provider = request.query_params.get("provider", "")
        get_object_or_404(LimitPolicy.objects.for_tenant(request.tenant), provider=provider)
        services.limit_policy_delete(tenant=request.tenant, provider=provider)
        return Response(status=status.HTTP_204_NO_CONTENT)
