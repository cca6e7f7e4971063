from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from mono import metrics
        from mono.temporal import codec
        from tenants import schema  # noqa: F401  (registers the OpenAPI auth scheme)
        from tenants.keys import PayloadKeyStore
        from tenants.selectors import tenant_slug

        metrics.set_tenant_slug_lookup(tenant_slug)
        # Temporal payload keys are tenant data: the codec (mono/) reads them through this store.
        codec.set_key_store(PayloadKeyStore())
