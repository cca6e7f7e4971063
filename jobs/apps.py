from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from jobs.services.email import email_campaign_relay_pending
        from jobs.services.media import media_relay_pending
        from mono import relay

        relay.register("images", media_relay_pending)
        relay.register("e-mail campaigns", email_campaign_relay_pending)
