import pytest

from mono.temporal import sync
from mono.temporal.client import connect
from mono.temporal.namespaces import TemporalNamespaceManager
from tenants import selectors as tenant_selectors
from tenants import services as tenant_services
from tests.factories import UserFactory


@pytest.fixture
def backup_root(settings, tmp_path):
    """The `backups` storage in a fresh directory for this test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "backups": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path


@pytest.fixture
def platform_namespace():
    async def ensure():
        await TemporalNamespaceManager(await connect()).ensure_platform()

    sync.run(ensure, timeout=60)


@pytest.fixture
def platform_workers(start_workers, transactional_db):
    return start_workers(tenant_source=tenant_selectors.active_tenant_refs)


def tenant(name: str, slug: str, owner: str | None = None, retention_days: int = 90):
    return tenant_services.tenant_create(
        name=name, slug=slug, retention_days=retention_days, owner=UserFactory(username=owner) if owner else None
    )
