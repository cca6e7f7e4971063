from django.core.management.base import BaseCommand, CommandError
from temporalio.client import WorkflowFailureError

from tenants import services
from tenants.management.commands._helpers import tenant_or_error


class Command(BaseCommand):
    help = "Run a probe workflow through the platform's (or a tenant's) namespace, worker and database."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="probe this tenant's namespace (slug)")

    def handle(self, *, tenant, **options):
        try:
            if tenant:
                result = services.tenant_probe_run(tenant=tenant_or_error(tenant))
                self.stdout.write(f"tenant {result.slug}: members by role {result.members_by_role}")
            else:
                result = services.platform_probe_run(requested_by="probe_workers")
                self.stdout.write(f"platform: {result.active_tenants} active of {result.total_tenants} tenants")
        except (TimeoutError, WorkflowFailureError) as exc:
            raise CommandError(f"No answer from the workers: {exc}. Is `manage.py runworkers` running?") from exc
        self.stdout.write(self.style.SUCCESS("Workers answered."))
