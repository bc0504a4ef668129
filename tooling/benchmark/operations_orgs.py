"""PERFORMANCE.md's "Many orgs" rows: N small orgs on one instance (``manage.py benchmark_orgs``).

The orgs (``many-00001`` …) are created once and kept, so a curve is measured by running the
command with a growing ``--orgs`` (only the missing orgs are created). Each has one admin and
three members with a few days of activity, like a small, mostly idle team.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership, Role
from accounts.services import api_key_create, membership_add
from activity.dispatch import organization_refresh, refresh_round
from activity.models import ActivityKind
from activity.services import activity_record_write
from orgdash.core.changes import changed_organizations, organization_changed
from orgdash.core.models import Domain, Organization, OrganizationStats, SpareSchema
from orgdash.core.services import organization_create, organization_host
from orgdash.core.spare_schemas import spare_schemas_discard_all, spare_schemas_refill
from tooling.benchmark.harness import Row, Timing, measure, measure_pair, ratio_of

PREFIX = "many-"
MEMBERS_PER_ORG = 4
STAFF_EMAIL = "benchmark-support@orgdash.test"


def org_slug(number: int) -> str:
    return f"{PREFIX}{number:05d}"


def many_orgs() -> list[Organization]:
    return list(Organization.objects.filter(slug__startswith=PREFIX).order_by("slug"))


def _populate(organization: Organization, number: int, now: dt.datetime) -> None:
    """One admin and three members (unusable passwords), each active on a few recent days."""
    user_model = get_user_model()
    with schema_context(organization.schema_name):
        for person in range(MEMBERS_PER_ORG):
            email = f"person{person}@{organization.slug}.example"
            user = user_model.objects.filter(email=email).first() or user_model.objects.create_user(
                email=email, username=f"{organization.slug}-{person}", password=None
            )
            membership = membership_add(user=user, role=Role.ADMIN if person == 0 else Role.MEMBER)
            for days_ago in random.Random(number * 10 + person).sample(range(60), 5):
                at = now - dt.timedelta(days=days_ago, hours=person)
                activity_record_write(
                    schema=organization.schema_name, membership_id=membership.pk, kinds=ActivityKind.LOGIN, at=at
                )


def ensure_orgs(count: int, *, progress: Callable[[str], None]) -> int:
    """Creates the missing orgs of ``many-00001`` … ``many-{count}``; returns how many."""
    existing = {
        organization.slug: organization for organization in Organization.objects.filter(slug__startswith=PREFIX)
    }
    now = timezone.now()
    created = 0
    for number in range(1, count + 1):
        slug = org_slug(number)
        if slug in existing:
            if number == len(existing):  # the last one made: an interrupted run may not have filled it
                with schema_context(existing[slug].schema_name):
                    empty = not Membership.objects.exists()
                if empty:
                    _populate(existing[slug], number, now)
            continue
        organization = organization_create(slug=slug, name=f"Many {number}")
        _populate(organization, number, now)
        created += 1
        if created % 50 == 0:
            progress(f"  {created} orgs created (last: {slug})")
    return created


def creation_rows(*, creations: int) -> list[Row]:
    """Creating an org (the org, its schema, its domain) with a spare schema ready, beside creating
    one with none (the template's script replayed), interleaved in this run, ``creations`` of each;
    each org is dropped again. The pool is emptied first and refilled to its size at the end."""
    spare_schemas_discard_all()
    with_spare, without_spare = [], []

    def create(samples: list[float], *, spare: bool) -> None:
        if spare:
            with override_settings(ORGDASH_SPARE_SCHEMAS=1):
                spare_schemas_refill()  # not timed: the pool's refill runs off the request path
        # No refill queued by the creation itself, so the next one meets the pool as set here.
        with override_settings(ORGDASH_SPARE_SCHEMAS=0):
            ready = SpareSchema.objects.count()
            samples.append(creation_probe())
            taken = ready - SpareSchema.objects.count()
            if taken != int(spare):
                raise RuntimeError(f"the creation took {taken} spare schemas of {ready}, not {int(spare)}")

    for number in range(creations):
        # Alternating which comes first, so drift on a shared machine hits both alike.
        if number % 2:
            create(without_spare, spare=False)
        create(with_spare, spare=True)
        if not number % 2:
            create(without_spare, spare=False)
    spare_schemas_refill()
    with_timing, without_timing = Timing(with_spare), Timing(without_spare)
    return [
        Row(
            name="create one org, a spare schema renamed",
            p50_ms=with_timing.p50,
            p95_ms=with_timing.p95,
            reference="the same with no spare (the template's script replayed)",
            reference_p50_ms=without_timing.p50,
            ratio=ratio_of(with_timing.p50, without_timing.p50),
            target="<= 500 ms",
            meets=with_timing.p95 <= 500,
            extra={"samples": creations, "reference_p95_ms": without_timing.p95},
        ),
        Row(
            name="create one org, no spare (the template's script replayed)",
            p50_ms=without_timing.p50,
            p95_ms=without_timing.p95,
            reference="-",
            reference_p50_ms=None,
            ratio=None,
            target="<= 500 ms",
            meets=without_timing.p95 <= 500,
            extra={"samples": creations},
        ),
    ]


def creation_probe() -> float:
    """Creates and drops one more org; returns the creation's milliseconds."""
    slug = f"probe-{time.time_ns() % 10**9}"
    started = time.perf_counter()
    organization = organization_create(slug=slug, name="Probe")
    elapsed = (time.perf_counter() - started) * 1000
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {connection.ops.quote_name(organization.schema_name)} CASCADE")
    organization.domains.all().delete()
    organization.delete()
    return elapsed


def migrate_row(count: int) -> Row:
    """``migrate_schemas --executor=multiprocessing`` over every schema when nothing is new: what
    every deploy pays to check each org (in a subprocess, as a deploy runs it)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--tenant", "--executor=multiprocessing", "-v", "0"],
        cwd=settings.BASE_DIR,
        check=True,
    )
    elapsed = (time.perf_counter() - started) * 1000
    return Row(
        name=f"migrate_schemas, multiprocessing, {count} orgs, nothing to apply",
        p50_ms=elapsed,
        p95_ms=elapsed,
        reference="-",
        reference_p50_ms=None,
        ratio=None,
        target="measured",
        meets=True,
        extra={"orgs": count, "per_org_ms": elapsed / max(count, 1)},
    )


def _database_backend_cpu_seconds() -> float | None:
    """CPU time used so far by this connection's PostgreSQL backend, when the server runs on this
    machine (the embedded one); None otherwise."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> float | None:
    """CPU time of this process and its database backend: on a loaded machine the wall-clock
    time mostly measures waiting for a core, this what the work itself costs."""
    backend = _database_backend_cpu_seconds()
    return None if backend is None else time.process_time() + backend


def _run_round() -> tuple[float, int]:
    """One beat round as the worker does it: the dispatcher, then every refresh it queues (run
    here one after the other, so the sum is the worker time of the whole round)."""
    started = time.perf_counter()
    targets = refresh_round()
    for target in targets:
        with schema_context(target.schema_name):
            organization_refresh()
    return (time.perf_counter() - started) * 1000, len(targets)


def tick_rows(orgs: list[Organization], *, changed_fraction: float, rounds: int) -> list[Row]:
    """A round with nothing changed, and one with ``changed_fraction`` of the orgs changed, beside
    the old behaviour's round (every org refreshed each minute), all in this run."""
    # The reference, and the state every later round starts from: every org refreshed now.
    started = time.perf_counter()
    for organization in orgs:
        with schema_context(organization.schema_name):
            organization_refresh()
    every_org_ms = (time.perf_counter() - started) * 1000
    # Other orgs of the instance (refreshed by nobody here) must not count in the rounds.
    for schema in changed_organizations() or {}:
        with schema_context(schema):
            organization_refresh()
    leftover, _ = _run_round()

    idle = measure(lambda: _run_round()[0], repetitions=rounds, warmup=1)
    changed_count = max(1, math.ceil(len(orgs) * changed_fraction))
    chosen = random.Random(len(orgs)).sample(orgs, changed_count)
    active_member = {}
    for organization in chosen:
        with schema_context(organization.schema_name):
            active_member[organization.schema_name] = list(
                Membership.objects.filter(state=Membership.State.JOINED).order_by("pk").values_list("pk", flat=True)
            )
    busy_samples, visited, busy_cpu = [], [], []
    for round_number in range(rounds):
        # A changed org is one where a member did something since the last round, as recording
        # does it (a day row written, the org marked), not only a mark.
        for organization in chosen:
            members = active_member[organization.schema_name]
            activity_record_write(
                schema=organization.schema_name,
                membership_id=members[round_number % len(members)],
                kinds=ActivityKind.PAGE_VIEW,
                at=timezone.now(),
            )
            organization_changed(schema=organization.schema_name)
        cpu_before = _cpu_seconds()
        elapsed, targets = _run_round()
        cpu_after = _cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            busy_cpu.append((cpu_after - cpu_before) * 1000)
        busy_samples.append(elapsed)
        visited.append(targets)
    busy = Timing(busy_samples)
    n = len(orgs)
    return [
        Row(
            name=f"beat round, {n} orgs, none changed (worker time)",
            p50_ms=idle.p50,
            p95_ms=idle.p95,
            reference=f"every org refreshed ({n} refreshes)",
            reference_p50_ms=every_org_ms,
            ratio=ratio_of(idle.p50, every_org_ms),
            target="O(changed); tiny",
            meets=idle.p95 <= 200,
            extra={"orgs": n, "leftover_round_ms": leftover},
        ),
        Row(
            name=f"beat round, {n} orgs, {changed_count} changed (worker time)",
            p50_ms=busy.p50,
            p95_ms=busy.p95,
            reference=f"every org refreshed ({n} refreshes)",
            reference_p50_ms=every_org_ms,
            ratio=ratio_of(busy.p50, every_org_ms),
            target="<= 2 s at 10,000 with 100 changed",
            meets=busy.p95 <= 2000,
            extra={
                "orgs": n,
                "changed": changed_count,
                "visited": max(visited),
                "per_changed_org_ms": busy.p50 / changed_count,
                # CPU of the round (this process and its PostgreSQL backend), per changed org.
                "per_changed_org_cpu_ms": Timing(busy_cpu).p50 / changed_count if busy_cpu else None,
            },
        ),
    ]


def _staff_client() -> Client:
    user_model = get_user_model()
    staff = user_model.objects.filter(email=STAFF_EMAIL).first() or user_model.objects.create_superuser(
        email=STAFF_EMAIL, username="benchmark-support", password=None
    )
    client = Client(HTTP_HOST=settings.ORGDASH_BASE_DOMAIN)
    client.force_login(staff)
    return client


def admin_rows(count: int, *, repetitions: int) -> list[Row]:
    client = _staff_client()

    def get(path: str) -> Callable[[], object]:
        def run():
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")

        return run

    rows = []
    for name, path in [
        ("admin org list (50 per page)", "/admin/core/organization/"),
        ("admin org list sorted by members", "/admin/core/organization/?o=-4"),
        ("admin org list searched", "/admin/core/organization/?q=many-0004"),
        ("support overview page", "/admin/core/organization/overview/"),
    ]:
        timing = measure(get(path), repetitions=repetitions)
        rows.append(
            Row(
                name=f"{name}, {count} orgs",
                p50_ms=timing.p50,
                p95_ms=timing.p95,
                reference="-",
                reference_p50_ms=None,
                ratio=None,
                target="p95 <= 100 ms at 10,000",
                meets=timing.p95 <= 100,
                extra={"orgs": count},
            )
        )
    return rows


class _Undo(Exception):
    pass


def padded_admin_rows(total: int, *, repetitions: int) -> list[Row]:
    """The admin rows with the instance's orgs brought to ``total`` by org rows alone (an org,
    its primary domain and its figures: all the admin pages read), added in a transaction that is
    rolled back. Measures the pages at a size whose schemas would take hours to create."""
    rows: list[Row] = []
    try:
        with transaction.atomic():
            missing = total - Organization.objects.exclude(schema_name="public").count()
            rng = random.Random(total)
            now = timezone.now()
            padding = Organization.objects.bulk_create(
                [
                    Organization(schema_name=f"pad_{i:06d}", slug=f"pad-{i:06d}", name=f"Padding {i}")
                    for i in range(missing)
                ],
                batch_size=2000,
            )
            Domain.objects.bulk_create(
                [
                    Domain(domain=f"{org.slug}.{settings.ORGDASH_BASE_DOMAIN}", tenant=org, is_primary=True)
                    for org in padding
                ],
                batch_size=2000,
            )
            OrganizationStats.objects.bulk_create(
                [
                    OrganizationStats(
                        organization=org,
                        members=rng.randint(1, 50),
                        active_30d=rng.randint(0, 5),
                        last_activity_at=now - dt.timedelta(hours=rng.randint(0, 2000)),
                    )
                    for org in padding
                ],
                batch_size=2000,
            )
            with connection.cursor() as cursor:  # as autovacuum would have by then
                cursor.execute("ANALYZE core_organization; ANALYZE core_domain; ANALYZE core_organizationstats")
            rows = admin_rows(total, repetitions=repetitions)
            for row in rows:
                row.extra["padded_with_rows"] = missing
            raise _Undo
    except _Undo:
        pass
    return rows


def users_list_row(organization: Organization, count: int, *, repetitions: int, baseline_p50: float | None) -> Row:
    """The users list of one small org as its admin, beside raw SQL of the same page."""
    with schema_context(organization.schema_name):
        admin = Membership.objects.filter(role=Role.ADMIN).first()
        api_key, secret = api_key_create(membership=admin, label="benchmark")
    client = Client(HTTP_HOST=organization_host(organization), HTTP_AUTHORIZATION=f"Bearer {secret}")

    def request():
        response = client.get("/api/v1/users/", HTTP_X_ORGDASH_BACKGROUND="1")
        if response.status_code != 200:
            raise RuntimeError(f"users list answered {response.status_code}")

    def raw():
        with schema_context(organization.schema_name), connection.cursor() as cursor:
            cursor.execute("SELECT * FROM accounts_membership ORDER BY last_active DESC NULLS LAST, id LIMIT 50")
            cursor.fetchall()

    try:
        timing, reference = measure_pair(request, raw, repetitions=repetitions)
    finally:
        with schema_context(organization.schema_name):
            api_key.delete()
    ratio = ratio_of(timing.p50, baseline_p50) if baseline_p50 else None
    return Row(
        name=f"users list of a small org, {count} orgs",
        p50_ms=timing.p50,
        p95_ms=timing.p95,
        reference="the same request with 10 orgs (--baseline)" if baseline_p50 else "-",
        reference_p50_ms=baseline_p50,
        ratio=ratio,
        target="ratio <= 1.2 vs 10 orgs",
        meets=ratio is None or ratio <= 1.2,
        extra={"orgs": count, "raw_sql_p50_ms": reference.p50},
    )
