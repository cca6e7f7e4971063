from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self) -> None:
        from mono.events import subscribe
        from workflows.live import publish_event

        subscribe(publish_event)  # runs' changes reach the websocket streams after each commit
