from django.core.management.base import BaseCommand

from tenants import keys


class Command(BaseCommand):
    help = (
        "After changing PAYLOAD_MASTER_KEY (the old one listed in PAYLOAD_MASTER_KEYS_PREVIOUS): wrap every "
        "payload key with the new master key. Afterwards the old master key may be dropped."
    )

    def handle(self, **options):
        self.stdout.write(f"re-wrapped {keys.payload_keys_rewrap()} payload keys")
