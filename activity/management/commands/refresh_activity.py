"""`manage.py refresh_activity [--org SLUG] [--full]`: the Celery refresh (members' figures,
aggregates, the org's figures), run now."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, tenant_context

from activity.dispatch import organization_refresh
from orgdash.core.models import Organization


class Command(BaseCommand):
    help = "Refreshes the activity aggregates of one organization (--org) or of every organization."

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="only this organization")
        parser.add_argument("--full", action="store_true", help="recompute everything, not only what changed")

    def handle(self, *args, org=None, full=False, **options):
        organizations = Organization.objects.exclude(schema_name=get_public_schema_name()).order_by("slug")
        if org:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"No organization with slug '{org}'.")
        for organization in organizations:
            with tenant_context(organization):
                # Waits for a refresh already running (Celery's), then runs: the figures are fresh on exit.
                self.stdout.write(organization_refresh(full=full, wait=True))
