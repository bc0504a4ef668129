from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from accounts.models import Membership
from accounts.services import api_key_create, scim_token_rotate
from orgdash.core.models import Organization


class Command(BaseCommand):
    help = (
        "Prints a new API key for a member of an organization (the only time it is shown), "
        "with --service an org-level key that can only report activity, or with --scim the org's SCIM "
        "provisioning token (replacing any previous one)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organization's slug")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--email", help="the member the key acts as")
        who.add_argument("--service", action="store_true", help="an ingestion-only service key (no member)")
        who.add_argument(
            "--scim", action="store_true", help="the SCIM token (/scim/v2/ only); the previous one stops working"
        )
        parser.add_argument("--label", default="", help="a note to recognize the key by")

    def handle(self, *args, org, email, service, scim, label, **options):
        organization = Organization.objects.exclude(schema_name="public").filter(slug=org.strip().lower()).first()
        if organization is None:
            raise CommandError(f"No organization with slug '{org}'.")
        with tenant_context(organization):
            if scim:
                _, secret = scim_token_rotate(label=label or "SCIM token (command line)")
                self.stdout.write(secret)
                return
            membership = None
            if not service:
                membership = Membership.objects.filter(email__iexact=email.strip()).exclude(user=None).first()
                if membership is None:
                    raise CommandError(f"{email} is not a member of {organization.slug}.")
                if membership.state != Membership.State.JOINED:
                    raise CommandError(f"{email}'s membership of {organization.slug} is deactivated.")
            default_label = "service key (command line)" if service else "command line"
            _, secret = api_key_create(membership=membership, label=label or default_label)
        self.stdout.write(secret)
