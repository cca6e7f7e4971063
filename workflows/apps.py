from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self) -> None:
        from mono import starts
        from mono.events import subscribe
        from workflows.live import publish_event
        from workflows.models import WorkflowExecution
        from workflows.services import executions

        subscribe(publish_event)  # runs' changes reach the websocket streams after each commit
        starts.register(
            starts.StartKind(
                executions.START_KIND,
                WorkflowExecution,
                launch=lambda execution: executions.execution_workflow_start(execution=execution),
                give_up=executions.execution_give_up,
            )
        )
