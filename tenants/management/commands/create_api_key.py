from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.management.commands._helpers import tenant_or_error, validation_message


class Command(BaseCommand):
    help = "Create an API key acting as a member of a tenant. Prints only the key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--user", required=True, help="username of a member")
        parser.add_argument("--name", required=True, help="what the key is for")

    def handle(self, *, tenant, user, name, **options):
        tenant_obj = tenant_or_error(tenant)
        user_obj = get_user_model().objects.filter(username=user).first()
        if user_obj is None:
            raise CommandError(f"Unknown user {user!r}.")
        try:
            _, raw_key = services.api_key_create(tenant=tenant_obj, user=user_obj, name=name)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        self.stdout.write(raw_key)
