from rest_framework import serializers

from tenants.models import ApiKey, Membership, Role, Tenant


class TenantSerializer(serializers.ModelSerializer):
    namespace = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "id",
            "name",
            "slug",
            "is_active",
            "retention_days",
            "created_at",
            "namespace",
        ]
        read_only_fields = ["id", "slug", "is_active", "created_at", "namespace"]

    def get_namespace(self, tenant: Tenant) -> str:
        from mono.temporal.client import tenant_namespace

        return tenant_namespace(tenant.pk)


class TenantUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)


class MeSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.username")
    tenant = TenantSerializer()
    role = serializers.CharField()
    auth = serializers.CharField()


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    # A plain name: who it may name is the service's rule, not a lookup over every user.
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class ApiKeySerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    prefix = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "username",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_prefix(self, api_key: ApiKey) -> str:
        return f"{ApiKey.PREFIX}{api_key.key_id}"


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """The one answer that carries the full key."""

    key = serializers.CharField(read_only=True)

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
