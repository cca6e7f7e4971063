from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit.services import audit_record
        from mono import events

        # Changes announced by lower floors (tenants) are recorded in their own transaction.
        events.on_audited_change(audit_record)
