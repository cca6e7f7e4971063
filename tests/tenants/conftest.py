import pytest
from rest_framework.test import APIClient

from tenants import services
from tenants.models import Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory


@pytest.fixture
def acme(db):
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def globex(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def alice(acme):
    """Owner of Acme."""
    user = UserFactory(username="alice")
    MembershipFactory(tenant=acme, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def victor(acme):
    """Viewer in Acme."""
    user = UserFactory(username="victor")
    MembershipFactory(tenant=acme, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def gina(globex):
    """Owner of Globex."""
    user = UserFactory(username="gina")
    MembershipFactory(tenant=globex, user=user, role=Role.OWNER)
    return user


def key_client(tenant, user) -> APIClient:
    _, raw_key = services.api_key_create(tenant=tenant, user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def alice_api(acme, alice):
    return key_client(acme, alice)


@pytest.fixture
def gina_api(globex, gina):
    return key_client(globex, gina)
