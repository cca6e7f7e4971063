from django.core.management.base import BaseCommand, CommandError

from maintenance.services import backups
from mono.errors import ServiceError
from tenants.models import Tenant
from workflows.services.schedules import definition_schedules_sync


class Command(BaseCommand):
    help = "Restore a backup archive into an empty tenant (create it first with create_tenant)."

    def add_arguments(self, parser):
        parser.add_argument("--archive", required=True, help="a file path, or a name in the backups storage")
        parser.add_argument("--into", required=True, dest="into", help="slug of the empty target tenant")

    def handle(self, *, archive, into, **options):
        tenant = Tenant.objects.filter(slug=into).first()
        if tenant is None:
            raise CommandError(f"Unknown tenant {into!r} (create it with create_tenant first).")
        try:
            report = backups.archive_restore(path=archive, tenant=tenant)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        total = sum(report.restored.values())
        self.stdout.write(self.style.SUCCESS(f"Restored {total} rows into {tenant.slug}."))
        for label, count in sorted(report.restored.items()):
            self.stdout.write(f"  {label}: {count}")
        for label, count in sorted(report.skipped.items()):
            reason = "their user, or the row they belong to, is missing"
            self.stdout.write(self.style.WARNING(f"  skipped {label}: {count} ({reason})"))
        try:
            for schedule_id, outcome in definition_schedules_sync(tenant=tenant):
                self.stdout.write(f"  {schedule_id}: {outcome}")
        except Exception as exc:  # the rows are restored; `sync_schedules --workflows` retries this
            self.stdout.write(
                self.style.WARNING(f"Workflow schedules not synced ({exc}); run sync_schedules --workflows.")
            )
