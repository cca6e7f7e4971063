from django.core.management.base import BaseCommand

from tenants import services
from tenants.management.commands._helpers import tenant_or_error
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create or update the platform namespace and every tenant's namespace (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--tenant",
            help="only this tenant (slug); the platform namespace is skipped",
        )

    def handle(self, *, tenant, **options):
        tenants = [tenant_or_error(tenant)] if tenant else list(Tenant.objects.order_by("pk"))
        total = len(tenants) + (0 if tenant else 1)
        done = 0
        counts = {"created": 0, "updated": 0, "unchanged": 0}

        def progress(result):
            nonlocal done
            done += 1
            counts[result.action] += 1
            self.stdout.write(
                f"[{done}/{total}] {result.namespace}: {result.action} "
                f"(retention {result.retention_days} days, search attributes {result.search_attributes})"
            )

        services.namespaces_provision(tenants=tenants, include_platform=not tenant, on_result=progress)
        summary = ", ".join(f"{n} {action}" for action, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Done: {summary}."))
