from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from mono import starts
        from webhooks.models import WebhookEvent
        from webhooks.services import receive

        starts.register(
            starts.StartKind(
                receive.START_KIND, WebhookEvent, launch=receive.event_launch, give_up=receive.event_give_up
            )
        )
