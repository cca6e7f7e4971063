from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.management.commands._helpers import tenant_or_error, validation_message
from tenants.models import Role


class Command(BaseCommand):
    help = "Add a user to a tenant with a role (the user is created if missing), or change their role."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--user", required=True, help="username")
        parser.add_argument("--role", required=True, choices=Role.values)

    def handle(self, *, tenant, user, role, **options):
        tenant_obj = tenant_or_error(tenant)
        try:
            membership = services.membership_add(
                tenant=tenant_obj,
                user=services.user_get_or_create(username=user),
                role=role,
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{user} is {membership.role} of {tenant_obj.slug}."))
