from django.apps import AppConfig


class MonoConfig(AppConfig):
    """The project package as an app, so its management commands and templates are found."""

    name = "mono"
    verbose_name = "Mono platform"
