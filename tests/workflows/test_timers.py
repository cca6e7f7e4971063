"""Long timers (approval deadlines, waits of days) on Temporal's time-skipping test server.

The time-skipping server is used for one workflow at a time only (it is unreliable with many
concurrent workflows); activities run against the real test database.
"""

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from mono.temporal.interceptors import DjangoConnectionInterceptor
from tests.workflows import graphs
from workflows.models import ApprovalRequest, StepExecution, WorkflowExecution
from workflows.services import definitions
from workflows.temporal import activities
from workflows.temporal.types import InterpreterInput
from workflows.temporal.workflows import InterpreterWorkflow

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


def run_with_time_skipping(tenant, graph: dict) -> tuple[WorkflowExecution, object]:
    definition = definitions.definition_create(tenant=tenant, name="Timers", graph=graph)
    execution = WorkflowExecution.objects.create(
        tenant=tenant, definition=definition, version=definition.latest_version
    )

    async def run():
        env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
        async with env:
            with ThreadPoolExecutor(4) as pool:
                async with Worker(
                    env.client,
                    task_queue="timers",
                    workflows=[InterpreterWorkflow],
                    activities=activities.ALL,
                    activity_executor=pool,
                    interceptors=[DjangoConnectionInterceptor()],
                ):
                    return await env.client.execute_workflow(
                        InterpreterWorkflow.run,
                        InterpreterInput(tenant.pk, execution.id, execution.version.plan, {"key": "t"}),
                        id=execution.id,
                        task_queue="timers",
                    )

    result = asyncio.run(run())
    execution.refresh_from_db()
    return execution, result


@pytest.mark.parametrize(
    ("on_timeout", "status", "branch"), [("approve", "completed", "yes"), ("reject", "failed", "no")]
)
def test_approval_deadline_follows_on_timeout(acme, on_timeout, status, branch):
    execution, result = run_with_time_skipping(acme, graphs.approval_graph(timeout="P2D", onTimeout=on_timeout))
    assert (execution.status, result.status) == (status, status)
    approval = ApprovalRequest.objects.for_tenant(acme).get(execution=execution)
    assert approval.timed_out is True
    assert approval.status == ("approved" if on_timeout == "approve" else "rejected")
    assert StepExecution.objects.get(execution=execution, node_id=branch).status == "completed"


def test_wait_of_days_is_a_durable_timer(acme):
    execution, _ = run_with_time_skipping(acme, graphs.wait_graph(duration="P3D"))
    assert execution.status == "completed"
    assert StepExecution.objects.get(execution=execution, node_id="pause").output == {"waited_seconds": 3 * 86400}
