from django.apps import AppConfig


class MonoConfig(AppConfig):
    """The project package as an app, so its management commands and templates are found."""

    name = "mono"
    verbose_name = "Mono platform"

    def ready(self) -> None:
        from mono import events, metrics

        # Every process (web and workers) counts the events it emits itself.
        events.subscribe(metrics.record_event)
