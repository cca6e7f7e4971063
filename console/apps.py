from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"

    def ready(self) -> None:
        from console.approval_mail import approval_requested_notify
        from mono.events import subscribe

        subscribe(approval_requested_notify)  # approvers hear of an approval once it is committed
