"""`/api/v1/llm/credentials`: the tenant's own provider keys, write-only.

A key goes in (encrypted at rest by `credential_save`) and never comes out: the list shows each
credential's name, kind and base URL only. Reading needs VIEW, saving MANAGE.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from llm import services
from llm.models import ProviderCredential, ProviderKind
from mono.api import validated
from tenants.permissions import Permission


class CredentialSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProviderCredential
        fields = ["name", "kind", "base_url", "is_active", "created_at"]
        read_only_fields = fields


class CredentialWriteSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=50)
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    api_key = serializers.CharField(max_length=500, write_only=True, trim_whitespace=True)
    base_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=200)


class CredentialsView(APIView):
    required_permissions = {"post": Permission.MANAGE}

    @extend_schema(responses=CredentialSerializer(many=True))
    def get(self, request):
        credentials = ProviderCredential.objects.for_tenant(request.tenant).order_by("name")
        return Response(CredentialSerializer(credentials, many=True).data)

    @extend_schema(request=CredentialWriteSerializer, responses={201: CredentialSerializer})
    def post(self, request):
        """Create or replace the credential `name` (its key is never shown again)."""
        data = validated(CredentialWriteSerializer, request.data)
        credential = services.credential_save(tenant=request.tenant, **data)
        return Response(CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)
