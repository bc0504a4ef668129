import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django_tenants.utils import tenant_context

from accounts.models import ApiKey, Membership, Role
from orgdash.core.models import Organization
from orgdash.core.services import organization_host
from tooling.benchmark import operations
from tooling.benchmark.harness import render_table, write_json
from tooling.benchmark.keys import temporary_key_create, temporary_keys_discard


class Command(BaseCommand):
    help = "Measures PERFORMANCE.md's operations through the real stack, each beside its reference."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench", help="slug of a seeded organization")
        parser.add_argument("--json", dest="json_path", help="also write the figures as JSON here")
        parser.add_argument("--quick", action="store_true", help="a smaller set, for smoke runs")
        parser.add_argument("--repetitions", type=int, default=None, help="timed runs per operation")
        parser.add_argument("--only", nargs="*", help="run only these operations")

    def handle(self, *args, org, json_path, quick, repetitions, only, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization '{org}'. Seed one: manage.py seed_demo --org {org} ...")
        repetitions = repetitions or (20 if quick else 100)
        host = organization_host(organization)
        rows = []
        with tenant_context(organization):
            admin = Membership.objects.filter(role=Role.ADMIN, state=Membership.State.JOINED).order_by("id").first()
            if admin is None:
                raise CommandError(f"'{org}' has no active admin to run the benchmark as.")
            api_key, secret = temporary_key_create(membership=admin, label="benchmark")
            raw = operations.raw_connection(organization.schema_name)
            ctx = operations.Context(
                client=Client(HTTP_HOST=host),
                auth={"HTTP_AUTHORIZATION": f"Bearer {secret}"},
                raw=raw,
                schema=organization.schema_name,
                slug=organization.slug,
                repetitions=repetitions,
                quick=quick,
            )
            try:
                # Requests of the benchmark itself must not show up as the admin's activity.
                with override_settings(ORGDASH_ACTIVITY_RECORDING=False, DEBUG=False):
                    for name, operation, in_quick in operations.OPERATIONS:
                        if (quick and not in_quick) or (only and name not in only):
                            continue
                        self.stderr.write(f"running {name} ...")
                        try:
                            rows.extend(operation(ctx))
                        except Exception as exc:  # report the failure and go on with the others
                            self.stderr.write(self.style.ERROR(f"{name} failed: {exc}"))
                            connection.close()
            finally:
                temporary_keys_discard(ApiKey.objects.filter(pk=api_key.pk))
                raw.close()
        self.stdout.write(
            f"orgdash benchmark: org {org!r}, {repetitions} repetitions, "
            f"database {operations.database_settings_summary()}"
        )
        self.stdout.write(render_table(rows))
        met = sum(row.meets for row in rows)
        self.stdout.write(f"\n{met} of {len(rows)} rows meet their target.")
        if json_path:
            write_json(rows, json_path)
            self.stdout.write(f"figures written to {json_path}")
        sys.stdout.flush()
