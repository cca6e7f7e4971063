from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from mono import relay
        from webhooks.services.events import event_relay_pending

        relay.register("webhook events", event_relay_pending)
