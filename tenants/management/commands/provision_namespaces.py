import time

from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.management.commands._helpers import tenant_or_error
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Create or update the platform namespace and every tenant's namespace. Idempotent and "
        "resumable: run it again after a crash or Ctrl-C and it finishes what is missing. A tenant "
        "that fails is reported at the end (exit 1); the others are provisioned all the same."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tenant",
            help="only this tenant (slug); the platform namespace is skipped",
        )
        parser.add_argument("--concurrency", type=int, default=8, help="namespaces provisioned at once (default 8)")

    def handle(self, *, tenant, concurrency, **options):
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1.")
        tenants = [tenant_or_error(tenant)] if tenant else list(Tenant.objects.order_by("pk"))
        slugs = {f"{t.pk}": t.slug for t in tenants}
        total = len(tenants) + (0 if tenant else 1)
        done = 0
        counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
        failures = []
        started = time.monotonic()

        def progress(result):
            nonlocal done
            done += 1
            counts[result.action] += 1
            elapsed = time.monotonic() - started
            eta = elapsed / done * (total - done)
            if result.action == "failed":
                failures.append(result)
                detail = f"FAILED: {result.error}"
            else:
                detail = f"(retention {result.retention_days} days, search attributes {result.search_attributes})"
            self.stdout.write(
                f"[{done}/{total}] {result.namespace}: {result.action} {detail}"
                + (f"  [{elapsed:.0f} s, ~{eta:.0f} s left]" if total > 20 else "")
            )

        services.namespaces_provision(
            tenants=tenants, include_platform=not tenant, on_result=progress, concurrency=concurrency
        )
        summary = ", ".join(f"{n} {action}" for action, n in counts.items() if action != "failed" or n)
        elapsed = time.monotonic() - started
        if failures:
            for result in failures:
                tenant_id = result.namespace.rpartition("-")[2]
                self.stderr.write(f"  {result.namespace} (tenant {slugs.get(tenant_id, '?')}): {result.error}")
            raise CommandError(
                f"{len(failures)} of {total} namespaces failed ({summary}, {elapsed:.1f} s). "
                "Run the command again to retry them; the others are done."
            )
        self.stdout.write(self.style.SUCCESS(f"Done: {summary} in {elapsed:.1f} s."))
