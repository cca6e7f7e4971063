"""Schemathesis against the live OpenAPI schema: no operation answers 500, whatever it is sent.

The schema is read from the running application (`/api/v1/schema`), so an endpoint added later
is fuzzed without touching this file. Requests go through the WSGI application in this process
against the real test database and Temporal dev server, with the platform's LLM providers
pointed at the fake provider server, authenticated as a tenant owner's API key. Generation is
derandomized (a fixed seed per operation) with a bounded number of examples, so a failure
reproduces and CI stays fast.
"""

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error

from mono.wsgi import application
from tenants.services import api_key_create, tenant_create
from tests.factories import UserFactory
from tests.llm.conftest import fake_llm  # noqa: F401 (fixture: the platform's providers answer)

EXAMPLES_PER_OPERATION = 20


def _schema():
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema", application)
    # The fuzzer's own key must not revoke itself halfway through the run (revoking is covered
    # by tests/tenants/test_api.py).
    return schema.exclude(path_regex=r"^/api/v1/api-keys/\{id\}/revoke/?$")


@pytest.mark.django_db(transaction=True)  # each request closes its connection, as in production
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("fake_llm")
def test_no_operation_answers_a_server_error(settings):
    # One key sends over a thousand requests: the API rate limits would answer 429 to the rest
    # and leave operations unexplored (throttling has its own tests in tests/hostile/).
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    owner = UserFactory(username="fuzz-owner")
    tenant = tenant_create(name="Fuzz", slug="fuzz", owner=owner)  # its namespace is provisioned
    _, key = api_key_create(tenant=tenant, user=owner, name="fuzzer")
    headers = {"Authorization": f"Bearer {key}"}

    failures, fuzzed = [], []
    for result in _schema().get_all_operations():
        operation = result.ok()
        fuzzed.append(operation.label)

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {exc!s:.1500}")

    assert len(fuzzed) > 40, f"the schema lists only {len(fuzzed)} operations"
    assert failures == [], "\n\n".join(failures)
