from django.conf import settings
from django.core.management.base import BaseCommand

from orgdash.core.schemas import template_schema_ensure
from orgdash.core.services import public_tenant_ensure
from orgdash.core.spare_schemas import spare_schemas_ready, spare_schemas_refill


class Command(BaseCommand):
    help = (
        "Creates the public tenant (and its domain in multi-tenant mode) and brings the template schema "
        "new orgs are cloned from up to date, and fills the pool of spare org schemas. Safe to rerun."
    )

    def handle(self, *args, **options):
        public_tenant_ensure()
        self.stdout.write("public tenant ready")
        if settings.TENANT_BASE_SCHEMA:
            migrated = template_schema_ensure(verbosity=options["verbosity"] - 1 if options["verbosity"] > 1 else 0)
            self.stdout.write(f"template schema {settings.TENANT_BASE_SCHEMA} {'migrated' if migrated else 'current'}")
            made = spare_schemas_refill()
            self.stdout.write(f"spare org schemas: {spare_schemas_ready()} ready ({made} made now)")
