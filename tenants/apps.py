from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from mono import metrics
        from tenants import schema  # noqa: F401  (registers the OpenAPI auth scheme)
        from tenants.selectors import tenant_slug

        metrics.set_tenant_slug_lookup(tenant_slug)
