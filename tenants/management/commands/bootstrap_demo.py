from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants import services
from tenants.models import Role
from tenants.selectors import tenant_get_by_slug


class Command(BaseCommand):
    help = "Create the demo admin user and demo tenant if they are missing (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")
        parser.add_argument("--tenant", default="demo")

    @transaction.atomic
    def handle(self, *, username, password, tenant, **options):
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_superuser(username=username, password=password, email="")
            self.stdout.write(f"Created superuser {username} (password {password}).")
        tenant_obj = tenant_get_by_slug(slug=tenant)
        if tenant_obj is None:
            tenant_obj = services.tenant_create(name=tenant.title(), slug=tenant, owner=user)
            self.stdout.write(f"Created tenant {tenant} owned by {username}.")
        else:
            services.membership_add(tenant=tenant_obj, user=user, role=Role.OWNER)
        self.stdout.write(self.style.SUCCESS(f"Demo ready: tenant {tenant_obj.slug}, user {username}."))
