from django.core.management.base import BaseCommand, CommandError

from tenants import keys
from tenants.management.commands._helpers import tenant_or_error


class Command(BaseCommand):
    help = (
        "Make a new Temporal payload key for a tenant's namespace (--tenant SLUG) or the platform's (--platform). "
        "New payloads use it; old payloads stay readable with the retired key."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="tenant slug")
        target.add_argument("--platform", action="store_true", help="the platform namespace")

    def handle(self, *, tenant, platform, **options):
        if platform:
            row = keys.platform_payload_key_rotate()
        elif tenant:
            row = keys.tenant_payload_key_rotate(tenant=tenant_or_error(tenant))
        else:  # argparse already requires one of the two
            raise CommandError("Name --tenant SLUG or --platform.")
        self.stdout.write(f"{row.namespace}: new payload key {row.key_id}")
