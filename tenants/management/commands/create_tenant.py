import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.management.commands._helpers import validation_message


class Command(BaseCommand):
    help = "Create a tenant (its Temporal namespace is provisioned once it is saved)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--owner", help="username of the owner (must exist)")
        parser.add_argument("--retention-days", type=int, default=90)

    def handle(self, *, name, slug, owner, retention_days, verbosity, **options):
        if verbosity >= 2:
            # Shows why a namespace could not be provisioned now, traceback included.
            logging.getLogger(services.__name__).setLevel(logging.DEBUG)
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"Unknown user {owner!r} (add_member creates users).")
        try:
            tenant = services.tenant_create(name=name, slug=slug, retention_days=retention_days, owner=owner_user)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} (id {tenant.pk})."))
