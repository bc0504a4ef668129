"""`manage.py benchmark_orgs --orgs N`: PERFORMANCE.md's "Many orgs" rows at N small orgs."""

import json
import sys

from django.core.management.base import BaseCommand
from django.test.utils import override_settings

from tooling.benchmark import operations_orgs
from tooling.benchmark.harness import render_table, write_json


class Command(BaseCommand):
    help = (
        "Creates the missing of N small orgs (many-00001 ...; kept for the next run) and measures org "
        "creation, migrate_schemas over all, beat rounds, the admin org list and a small org's users list."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orgs", type=int, required=True, help="how many small orgs the instance holds")
        parser.add_argument("--changed", type=float, default=0.01, help="fraction of orgs changed in a round")
        parser.add_argument("--repetitions", type=int, default=30, help="timed runs per request")
        parser.add_argument(
            "--creations", type=int, default=20, help="timed org creations with a spare schema, and as many without"
        )
        parser.add_argument("--rounds", type=int, default=5, help="timed beat rounds")
        parser.add_argument("--baseline", help="JSON of an earlier run (e.g. --orgs 10): the users list's reference")
        parser.add_argument("--skip-migrate", action="store_true", help="leave out migrate_schemas over every org")
        parser.add_argument("--json", dest="json_path", help="also write the figures as JSON here")
        parser.add_argument(
            "--admin-list-at",
            type=int,
            help="also measure the admin pages with this many orgs, the missing ones as org rows only (rolled back)",
        )

    def handle(
        self,
        *args,
        orgs,
        changed,
        repetitions,
        creations,
        rounds,
        baseline,
        skip_migrate,
        json_path,
        admin_list_at,
        **options,
    ):
        baseline_p50 = None
        if baseline:
            with open(baseline) as handle:
                for row in json.load(handle):
                    if row["name"].startswith("users list of a small org"):
                        baseline_p50 = row["p50_ms"]
        self.stderr.write(f"creating the missing of {orgs} orgs ...")
        created = operations_orgs.ensure_orgs(orgs, progress=self.stderr.write)
        all_orgs = operations_orgs.many_orgs()[:orgs]
        self.stderr.write(f"creating {creations} orgs with a spare schema and {creations} without ...")
        rows = operations_orgs.creation_rows(creations=creations)

        def done(new_rows):
            rows.extend(new_rows)
            if json_path:  # after each part, so a long run interrupted late keeps what it measured
                write_json(rows, json_path)

        # Requests of the benchmark itself must not show up as activity.
        with override_settings(ORGDASH_ACTIVITY_RECORDING=False, DEBUG=False):
            self.stderr.write("beat rounds ...")
            done(operations_orgs.tick_rows(all_orgs, changed_fraction=changed, rounds=rounds))
            self.stderr.write("admin org list ...")
            done(operations_orgs.admin_rows(len(all_orgs), repetitions=repetitions))
            if admin_list_at:
                self.stderr.write(f"admin org list at {admin_list_at} orgs ...")
                done(operations_orgs.padded_admin_rows(admin_list_at, repetitions=repetitions))
            self.stderr.write("users list of a small org ...")
            done(
                [
                    operations_orgs.users_list_row(
                        all_orgs[0], len(all_orgs), repetitions=repetitions, baseline_p50=baseline_p50
                    )
                ]
            )
        if not skip_migrate:
            self.stderr.write("migrate_schemas over every org ...")
            done([operations_orgs.migrate_row(len(all_orgs))])
        self.stdout.write(f"orgdash many-orgs benchmark: {len(all_orgs)} orgs ({created} created now)")
        self.stdout.write(render_table(rows))
        if json_path:
            write_json(rows, json_path)
            self.stdout.write(f"figures written to {json_path}")
        sys.stdout.flush()
