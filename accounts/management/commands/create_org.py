from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from accounts.models import Role
from accounts.services import membership_add, user_get_or_create
from orgdash.core.services import (
    OrganizationError,
    organization_create,
    organization_url,
    public_tenant_ensure,
)


class Command(BaseCommand):
    help = "Creates an organization: its schema, its domain and (optionally) its first admin."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-email")
        parser.add_argument("--admin-password")

    def handle(self, *args, slug, name, admin_email, admin_password, **options):
        if admin_password and not admin_email:
            raise CommandError("--admin-password needs --admin-email")
        public_tenant_ensure()
        try:
            organization = organization_create(slug=slug, name=name)
        except OrganizationError as exc:
            raise CommandError(str(exc)) from exc
        if admin_email:
            user, created = user_get_or_create(email=admin_email, password=admin_password)
            if not created and admin_password and not user.check_password(admin_password):
                self.stderr.write("The admin account already exists; its password was left unchanged.")
            with tenant_context(organization):
                membership_add(user=user, role=Role.ADMIN)
            self.stdout.write(f"Admin: {user.email}")
        self.stdout.write(organization_url(organization))
