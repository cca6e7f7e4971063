from django.core.management.base import BaseCommand, CommandError

from maintenance.services import backups
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Write a tenant's backup archive to the backups storage (BACKUP_ROOT) and print its path."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="slug of the tenant")

    def handle(self, *, tenant, **options):
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"Unknown tenant {tenant!r}.")
        result = backups.tenant_backup(tenant=found)
        rows = sum(count for name, count in result.counts.items() if name != "tenants.tenant")
        self.stdout.write(self.style.SUCCESS(f"Backed up {found.slug}: {rows} rows to {result.path}"))
        self.stdout.write(f"sha256 {result.sha256}")
