import json

from django.core.management.base import BaseCommand, CommandError

from tenants import selectors
from tenants.services import workers_poller_report


class Command(BaseCommand):
    help = (
        "Ask Temporal which workers poll each of Mono's task queues (every active tenant's and the "
        "platform's), with the time of their last poll. Exits 1 if a standing queue has no poller "
        "(queues started on demand may rightly have none while idle)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="print the report as JSON",
        )

    def handle(self, *, as_json: bool, **options):
        report = workers_poller_report(tenant_ids=[t.id for t in selectors.active_tenant_refs()])
        if as_json:
            self.stdout.write(_json_dumps(report))
        else:
            for row in report:
                idle = "NO POLLERS" if row["standing"] else "idle (started on demand)"
                pollers = ", ".join(f"{p['identity']} (last poll {p['last_poll']})" for p in row["pollers"]) or idle
                self.stdout.write(f"{row['namespace']} / {row['task_queue']}: {pollers}")
        standing = [row for row in report if row["standing"]]
        unserved = [row for row in standing if not row["pollers"]]
        if unserved:
            # Exit 1 either way; with --json the report above is the whole output on stdout.
            raise CommandError(f"{len(unserved)} of {len(standing)} standing task queues have no worker polling them.")
        if not as_json:
            on_demand = len(report) - len(standing)
            self.stdout.write(
                self.style.SUCCESS(
                    f"All {len(standing)} standing task queues have workers ({on_demand} more start on demand)."
                )
            )


def _json_dumps(report) -> str:
    return json.dumps(report, indent=2, default=str)
