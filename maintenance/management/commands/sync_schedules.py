from django.core.management.base import BaseCommand

from maintenance.services.schedules import platform_schedules_sync
from workflows.services.schedules import definition_schedules_sync


class Command(BaseCommand):
    help = (
        "Create missing platform Temporal Schedules, update changed ones and leave equal ones alone "
        "(housekeeping, orphaned media cleanup, nightly tenant backups). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workflows", action="store_true", help="also repair the schedules of scheduled workflow definitions"
        )

    def handle(self, *, workflows, **options):
        outcomes = platform_schedules_sync()
        if workflows:
            outcomes += definition_schedules_sync()
        for schedule_id, outcome in outcomes:
            style = self.style.SUCCESS if outcome in ("created", "updated") else (lambda text: text)
            self.stdout.write(style(f"{schedule_id}: {outcome}"))
