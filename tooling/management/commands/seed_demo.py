"""``manage.py seed_demo --org SLUG [--users N] [--days D] [--seed S]``: a living demo org."""

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from orgdash.core.models import Organization
from tooling.demo import SeedError, seed_demo


class Progress:
    """One line on stderr, redrawn in place: a bar, the step, the time so far."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.started = time.monotonic()
        self.interactive = stream.isatty()

    def __call__(self, step: str, fraction: float) -> None:
        filled = round(self.WIDTH * fraction)
        elapsed = time.monotonic() - self.started
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%} {step} ({elapsed:.0f} s)"
        if self.interactive:
            self._write(f"\r\033[K{line}" + ("\n" if fraction >= 1 else ""))
        else:
            self._write(line + "\n")
        self.stream.flush()

    def _write(self, text: str) -> None:
        self.stream.write(text, style_func=lambda plain: plain, ending="")


class Command(BaseCommand):
    help = (
        "Fills an org with N seeded users (pending invites, active, inactive and deactivated members; "
        "admins, members and viewers) and D days of realistic activity, deterministically for a seed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the org's slug")
        parser.add_argument("--users", type=int, default=1000, help="how many people to add (default 1000)")
        parser.add_argument("--days", type=int, default=365, help="days of activity history (default 365)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same data (default 1)")
        parser.add_argument("--reset", action="store_true", help="replace the users an earlier run seeded")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the org already has 10 or more members"
        )
        parser.add_argument(
            "--as-of",
            help="ISO date-time the history ends at (default: now); pins the data set for reproducible runs",
        )

    def handle(self, *args, org, users, days, seed, reset, if_empty, as_of, **options):
        with schema_context("public"):
            organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug '{org}'. Create it with create_org first.")
        end = self._as_of(as_of)
        started = time.monotonic()
        progress = Progress(self.stderr) if options["verbosity"] > 0 else (lambda step, fraction: None)
        try:
            result = seed_demo(
                organization=organization,
                users=users,
                days=days,
                seed=seed,
                as_of=end,
                reset=reset,
                if_empty=if_empty,
                progress=progress,
            )
        except SeedError as exc:
            raise CommandError(str(exc))
        if result.skipped:
            self.stdout.write(f"seed_demo: skipped, {result.skipped}.")
            return
        replaced = f" (replaced {result.deleted:,} seeded before)" if result.deleted else ""
        self.stdout.write(
            f"seed_demo: {result.people:,} users and {result.day_rows:,} day rows over {days} days in "
            f"{org}{replaced}, in {time.monotonic() - started:.1f} s."
        )

    @staticmethod
    def _as_of(value: str | None) -> dt.datetime:
        if not value:
            return timezone.now()
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise CommandError(f"--as-of {value!r} is not an ISO 8601 date or date-time.")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
