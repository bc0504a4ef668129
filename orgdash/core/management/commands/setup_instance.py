from django.core.management.base import BaseCommand

from orgdash.core.services import public_tenant_ensure


class Command(BaseCommand):
    help = "Creates the public tenant (and its domain in multi-tenant mode). Safe to rerun."

    def handle(self, *args, **options):
        public_tenant_ensure()
        self.stdout.write("public tenant ready")
