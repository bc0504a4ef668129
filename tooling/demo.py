"""A living demo population for an org: members in every status and role, pending invites, and
years of activity — realistic, deterministic for a seed, and written in bulk.

Who the people are (names, roles, when they joined, how active they are, when they went quiet or
were deactivated) is planned in Python with ``random.Random(seed)``; their accounts, memberships
and invites go in with COPY. Their day rows are generated inside PostgreSQL from that plan: a
member is active on a day when a hash of (seed, person, day) falls under their activity rate,
lower at weekends — so millions of rows never pass through Python and the same seed always
yields the same rows.

Seeded people have e-mail addresses ``<first>.<last>.<n>@<slug>.example``; that is how a later
run (``reset=True``) finds and removes them, leaving every other member untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, tenant_context

from accounts.audit_services import audit_record
from accounts.models import AuditAction, AuditEvent, Invite, Membership, Role, SystemActor
from activity.models import (
    ActivityDay,
    ActivityDirtyDay,
    ActivityKind,
    MemberFirstDays,
    MemberPeriodDays,
    PeriodLeaders,
    Run,
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    """
    james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan
    joseph jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony sandra
    mark ashley donald kimberly steven emily paul donna andrew michelle joshua carol kenneth amanda
    kevin melissa brian deborah george stephanie timothy rebecca ronald sharon jason laura edward
    cynthia jeffrey amy ryan kathleen jacob angela gary dorothy nicholas anna eric brenda jonathan emma
    stephen olivia larry pamela justin nicole scott samantha brandon katherine benjamin christine samuel
    helen gregory debra alexander rachel frank carolyn patrick janet raymond maria jack catherine dennis
    heather jerry diane tyler ruth aaron julie jose olga adam joyce nathan virginia henry victoria
    zachary kelly priya wei yuki carlos sofia ahmed fatima ivan elena mateo lucia kenji aiko omar leila
    raj ananya
    """
)
LAST_NAMES = _words(
    """
    smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez
    wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark
    ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams
    nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker
    cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper
    peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james
    bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez
    tanaka sato mueller schmidt novak kowalski ivanova rossi ferrari dubois lambert singh kumar chen
    wang
    """
)

# Shares of the seeded population (PERFORMANCE.md's data set).
PENDING_SHARE = 0.05
DEACTIVATED_SHARE = 0.05
INACTIVE_SHARE = 0.20
ADMIN_SHARE = 0.02
VIEWER_SHARE = 0.10
# Joins grow over the span: the density of join dates rises by e^GROWTH from first day to last.
GROWTH = 1.3
WEEKEND_FACTOR = 0.2
# "Inactive" means no activity for six calendar months (at most 184 days); stay clear of the edge.
QUIET_DAYS = 190
# (share of people, lowest and highest chance to be active on a weekday)
PERSONAS = ((0.15, 0.55, 0.9), (0.45, 0.2, 0.5), (0.40, 0.03, 0.15))
SKIP_IF_MEMBERS_AT_LEAST = 10
ACTIVITY_CHUNKS = 20
# From this many people on, the day rows' plain indexes and foreign keys are rebuilt once at the end.
BULK_LOAD_MIN_PEOPLE = 10_000


class SeedError(Exception):
    pass


@dataclass
class Person:
    n: int
    first: str
    last: str
    role: str
    state: str  # Membership.State
    added: dt.datetime
    joined_at: dt.datetime | None = None
    first_day: dt.date | None = None  # first and last day of activity (None: never active)
    last_day: dt.date | None = None
    deactivated_at: dt.datetime | None = None
    rate: float = 0.0

    def email(self, slug: str) -> str:
        return f"{self.first}.{self.last}.{self.n}@{slug}.example"

    def username(self, slug: str) -> str:
        return f"{self.first}.{self.last}.{self.n}.{slug}"

    @property
    def name(self) -> str:
        return f"{self.first.title()} {self.last.title()}"


def seeded_email_pattern(slug: str) -> str:
    """SQL LIKE pattern of the seeded people's e-mail addresses (slugs hold no LIKE wildcards but '-')."""
    return f"%@{slug}.example"


def _shuffled_labels(rng: random.Random, total: int, shares: list[tuple[str, float]], rest: str) -> list[str]:
    """Exactly round(share * total) of each label, the rest ``rest``, in random order."""
    labels: list[str] = []
    for label, share in shares:
        labels += [label] * round(share * total)
    labels += [rest] * (total - len(labels))
    rng.shuffle(labels)
    return labels[:total]


def _growth_offset(rng: random.Random, span: int) -> int:
    """A day offset in [0, span) drawn from a density growing exponentially towards the end."""
    if span <= 1:
        return 0
    position = math.log1p(rng.random() * math.expm1(GROWTH)) / GROWTH
    return min(span - 1, int(position * span))


def _time_on(day: dt.date, rng: random.Random, not_after: dt.datetime) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(7), tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(12 * 60))
    return min(moment, not_after)


def plan_people(*, users: int, days: int, seed: int, as_of: dt.datetime) -> list[Person]:
    """Who the seeded people are; the same arguments always give the same people."""
    rng = random.Random(seed)
    today = as_of.date()
    start = today - dt.timedelta(days=days - 1)
    categories = _shuffled_labels(
        rng,
        users,
        [("pending", PENDING_SHARE), ("deactivated", DEACTIVATED_SHARE), ("inactive", INACTIVE_SHARE)],
        "active",
    )
    roles = _shuffled_labels(rng, users, [(Role.ADMIN, ADMIN_SHARE), (Role.VIEWER, VIEWER_SHARE)], Role.MEMBER)
    people = []
    for index, (category, role) in enumerate(zip(categories, roles, strict=True)):
        person = Person(
            n=index + 1,
            first=rng.choice(FIRST_NAMES),
            last=rng.choice(LAST_NAMES),
            role=role,
            state=Membership.State.JOINED,
            added=as_of,
        )
        people.append(person)
        if category == "pending":
            person.state = Membership.State.INVITED
            sent_day = today - dt.timedelta(days=rng.randrange(min(days, 21)))
            person.added = _time_on(sent_day, rng, as_of)
            continue
        if category == "inactive" and days <= QUIET_DAYS + 30:
            category = "active"  # a history this short has no room for six quiet months
        # Joining: an invite was sent, accepted up to three days later, first activity that day.
        join_span = days - QUIET_DAYS - 10 if category == "inactive" else days
        if category == "deactivated":
            join_span = days - 1 or 1
        first_day = start + dt.timedelta(days=_growth_offset(rng, join_span))
        person.joined_at = _time_on(first_day, rng, as_of)
        person.added = person.joined_at - dt.timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
        person.first_day = first_day
        persona = rng.random()
        for share, low, high in PERSONAS:
            if persona < share:
                person.rate = rng.uniform(low, high)
                break
            persona -= share
        else:
            person.rate = PERSONAS[-1][1]
        # Going quiet: the last day this person was active.
        if category == "active":
            quiet_for = min(int(rng.expovariate(1 / 6)), 150)
            person.last_day = max(first_day, today - dt.timedelta(days=quiet_for))
        elif category == "inactive":
            latest = today - dt.timedelta(days=QUIET_DAYS)
            person.last_day = first_day + dt.timedelta(days=rng.randrange((latest - first_day).days + 1))
        else:  # deactivated some days after their last activity
            latest = today - dt.timedelta(days=1)
            person.last_day = first_day + dt.timedelta(days=rng.randrange(max((latest - first_day).days, 0) + 1))
            gone = min(today, person.last_day + dt.timedelta(days=1 + rng.randrange(20)))
            person.state = Membership.State.DEACTIVATED
            person.deactivated_at = max(_time_on(gone, rng, as_of), person.joined_at)
    return people


# Day rows from the plan, computed by PostgreSQL. ``h`` is 64 random bits derived from (seed,
# person, day): its top 24 bits decide whether the person was active that day (against their
# weekday or weekend threshold), lower bit fields pick the kinds and the times. People are read
# in plan order and days ascending, which is the unique index's order, so no sort is needed.
_ACTIVITY_SQL = """
INSERT INTO {day_table} (membership_id, day, kinds, first_seen, last_seen)
SELECT membership_id, day,
       CASE WHEN kinds = 0 THEN {page_view} ELSE kinds END,
       LEAST(first_seen, %(as_of)s),
       LEAST(first_seen + ((h >> 22) & 511) * interval '1 minute', day + interval '1 day' - interval '1 second',
             %(as_of)s)
FROM (
    SELECT p.membership_id, g.day, g.h,
           CASE WHEN g.day = p.first_day THEN p.joined_at
                ELSE g.day + interval '7 hours' + ((g.h >> 12) & 1023) %% 720 * interval '1 minute' END
               AS first_seen,
           (CASE WHEN (g.h & 3) = 0 OR g.day = p.first_day THEN {login} ELSE 0 END)
         | (CASE WHEN ((g.h >> 2) & 7) < 6 OR g.day = p.first_day THEN {page_view} ELSE 0 END)
         | (CASE WHEN ((g.h >> 5) & 3) = 0 AND p.role <> 'viewer' THEN {run_logged} ELSE 0 END)
         | (CASE WHEN ((g.h >> 7) & 7) < 2 AND p.role <> 'viewer' THEN {sdk} ELSE 0 END)
         | (CASE WHEN ((g.h >> 10) & 3) = 0 THEN {api} ELSE 0 END) AS kinds
    FROM (SELECT * FROM seed_profile WHERE n BETWEEN %(low)s AND %(high)s ORDER BY n) p
    CROSS JOIN LATERAL (
        SELECT p.first_day + k AS day,
               hashint8extended(p.n * 100003 + (p.first_day - DATE '2000-01-01') + k, %(seed)s) AS h
        FROM generate_series(0, p.last_day - p.first_day) AS k
    ) g
    WHERE g.day = p.first_day OR g.day = p.last_day
       OR ((g.h >> 40) & 16777215) < CASE WHEN (g.day - DATE '2000-01-03') %% 7 >= 5  -- 2000-01-03: a Monday
                                          THEN p.weekend_threshold ELSE p.weekday_threshold END
) chosen
"""


def _table(model, schema: str | None = None) -> str:
    quote = connection.ops.quote_name
    name = quote(model._meta.db_table)
    return f"{quote(schema)}.{name}" if schema else name


def _allocate_ids(cursor, model, count: int, schema: str | None = None) -> list[int]:
    if count == 0:
        return []
    table = f"{schema}.{model._meta.db_table}" if schema else model._meta.db_table
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    )
    return [row[0] for row in cursor.fetchall()]


def _count_seeded(slug: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {_table(Membership)} WHERE email LIKE %s",
            [seeded_email_pattern(slug)],
        )
        return cursor.fetchone()[0]


def delete_seeded(slug: str) -> int:
    """Removes the seeded people of the current org (memberships, their rows, their accounts)."""
    pattern = seeded_email_pattern(slug)
    users = _table(get_user_model(), get_public_schema_name())
    membership = _table(Membership)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_old")
        cursor.execute(
            f"CREATE TEMP TABLE seed_old ON COMMIT DROP AS SELECT id, user_id FROM {membership} WHERE email LIKE %s",
            [pattern],
        )
        cursor.execute("SELECT count(*) FROM seed_old")
        count = cursor.fetchone()[0]
        if count == 0:
            return 0
        cursor.execute(
            f"INSERT INTO {_table(ActivityDirtyDay)} (day) SELECT DISTINCT day FROM {_table(ActivityDay)} "
            "WHERE membership_id IN (SELECT id FROM seed_old) ON CONFLICT (day) DO NOTHING"
        )
        # The aggregates' member rows too: the memberships go by raw SQL, past Django's cascade.
        for model in (ActivityDay, MemberFirstDays, MemberPeriodDays, PeriodLeaders, Invite):
            cursor.execute(f"DELETE FROM {_table(model)} WHERE membership_id IN (SELECT id FROM seed_old)")
        cursor.execute(f"DELETE FROM {_table(Run)} WHERE created_by_id IN (SELECT id FROM seed_old)")
        cursor.execute(
            f"DELETE FROM {_table(Membership.api_keys.field.model)} WHERE membership_id IN (SELECT id FROM seed_old)"
        )
        cursor.execute(
            f"UPDATE {_table(AuditEvent)} SET target_membership_id = NULL "
            "WHERE target_membership_id IN (SELECT id FROM seed_old)"
        )
        cursor.execute(
            f"UPDATE {_table(AuditEvent)} SET actor_id = NULL WHERE actor_id IN (SELECT user_id FROM seed_old)"
        )
        for column in ("invited_by_id", "deactivated_by_id"):
            cursor.execute(
                f"UPDATE {membership} SET {column} = NULL "
                f"WHERE {column} IN (SELECT user_id FROM seed_old) AND id NOT IN (SELECT id FROM seed_old)"
            )
        cursor.execute(f"DELETE FROM {membership} WHERE id IN (SELECT id FROM seed_old)")
        cursor.execute(
            f"DELETE FROM {users} WHERE id IN (SELECT user_id FROM seed_old WHERE user_id IS NOT NULL) "
            "AND email LIKE %s",
            [pattern],
        )
    return count


@dataclass
class SeedResult:
    people: int = 0
    day_rows: int = 0
    deleted: int = 0
    skipped: str = ""


def seed_demo(
    *,
    organization,
    users: int,
    days: int,
    seed: int,
    as_of: dt.datetime,
    reset: bool = False,
    if_empty: bool = False,
    progress: Callable[[str, float], None] = lambda step, fraction: None,
) -> SeedResult:
    """Fills ``organization`` with ``users`` seeded people and ``days`` days of their activity,
    in one transaction (an interrupted run leaves nothing behind).

    Order of work, each step in bulk: accounts (COPY); the plan into temporary tables (COPY); day
    rows generated by PostgreSQL; memberships inserted from the plan with their last active time
    and days active computed from those rows (so they are written once, never updated); invites.
    For big runs the tables' plain indexes and the day rows' foreign key are rebuilt at the end.
    """
    if users < 1 or days < 1:
        raise SeedError("--users and --days must be at least 1.")
    slug = organization.slug
    result = SeedResult()
    with tenant_context(organization), transaction.atomic():
        if if_empty:
            members = Membership.objects.count()
            if members >= SKIP_IF_MEMBERS_AT_LEAST:
                result.skipped = f"{slug} already has {members} members"
                return result
        existing = _count_seeded(slug)
        if existing and not reset:
            raise SeedError(
                f"{slug} already has {existing} seeded users; use --reset to replace them (other members are kept)."
            )
        with connection.cursor() as cursor:
            # Session-local tuning for one big load; undone when the transaction ends.
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        if existing:
            progress("removing the previous seeded users", 0.0)
            result.deleted = delete_seeded(slug)
        progress("planning people", 0.02)
        _drop_plan_tables()
        people = plan_people(users=users, days=days, seed=seed, as_of=as_of)
        result.people = len(people)
        bulk = len(people) >= BULK_LOAD_MIN_PEOPLE
        with connection.cursor() as cursor:
            if bulk:
                # Deferred checks of earlier writes (a reset) would block ALTER TABLE: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            restore = _set_aside_for_bulk_load(cursor, ActivityDay, foreign_keys=True) if bulk else []
            restore += _set_aside_for_bulk_load(cursor, Membership, foreign_keys=False) if bulk else []
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            membership_ids = _write_accounts_and_plan(cursor, organization, people, progress)
            result.day_rows = _write_activity(cursor, people, seed=seed, as_of=as_of, progress=progress)
            progress("memberships and their figures", 0.86)
            _write_memberships(cursor)
            _write_invites(cursor, people, membership_ids)
            if restore:
                progress("indexing", 0.9)
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for statement in restore:
                    cursor.execute(statement)
            progress("marking days for the aggregate refresh", 0.97)
            today = as_of.date()
            cursor.execute(
                f"INSERT INTO {_table(ActivityDirtyDay)} (day) SELECT d::date "
                "FROM generate_series(%s::date, %s::date, interval '1 day') d ON CONFLICT (day) DO NOTHING",
                [today - dt.timedelta(days=days - 1), today],
            )
            for model in (Membership, ActivityDay):
                cursor.execute(f"ANALYZE {_table(model)}")
        _drop_plan_tables()
        audit_record(
            action=AuditAction.DEMO_SEEDED,
            actor=SystemActor.DEMO,
            target_repr=slug,
            users=users,
            days=days,
            seed=seed,
            day_rows=result.day_rows,
        )
        progress("committing", 0.99)
    progress("done", 1.0)
    return result


def _drop_plan_tables() -> None:
    # Temporary tables go with the transaction, but inside a caller's transaction (tests) they
    # would outlive this run.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS seed_member, seed_profile, seed_old")


_MEMBER_COLUMNS = (
    "id, user_id, email, username, name, role, state, created_at, joined_at, invited_by_id, "
    "invited_by_email, deactivated_at, deactivated_by_id"
)


def _write_accounts_and_plan(cursor, organization, people: list[Person], progress) -> list[int]:
    """Global accounts of the joined people (COPY), and the plan of memberships and activity in
    temporary tables. Returns the membership ids, in plan order."""
    slug = organization.slug
    public = get_public_schema_name()
    inviter = (
        Membership.objects.filter(role=Role.ADMIN, state=Membership.State.JOINED, user__isnull=False)
        .order_by("id")
        .values_list("user_id", "email")
        .first()
    )
    inviter_id, inviter_email = inviter or (None, None)
    joined = [person for person in people if person.state != Membership.State.INVITED]
    progress("accounts", 0.05)
    user_ids = _allocate_ids(cursor, get_user_model(), len(joined), public)
    membership_ids = _allocate_ids(cursor, Membership, len(people))
    user_columns = "id, password, is_superuser, email, username, name, is_staff, is_active, date_joined"
    with cursor.copy(f"COPY {_table(get_user_model(), public)} ({user_columns}) FROM STDIN") as copy:
        for user_id, person in zip(user_ids, joined, strict=True):
            # '!' is Django's unusable password: seeded people can sign in only after a reset.
            copy.write_row(
                (user_id, "!", False, person.email(slug), person.username(slug), person.name, False, True,
                 person.added)
            )  # fmt: skip
    progress("the plan", 0.12)
    user_id_of = {person.n: user_id for user_id, person in zip(user_ids, joined, strict=True)}
    cursor.execute(
        f"CREATE TEMP TABLE seed_member ON COMMIT DROP AS SELECT {_MEMBER_COLUMNS} FROM {_table(Membership)} LIMIT 0"
    )
    with cursor.copy(f"COPY seed_member ({_MEMBER_COLUMNS}) FROM STDIN") as copy:
        for membership_id, person in zip(membership_ids, people, strict=True):
            pending = person.state == Membership.State.INVITED
            copy.write_row(
                (membership_id, user_id_of.get(person.n), person.email(slug),
                 None if pending else person.username(slug), None if pending else person.name,
                 person.role, person.state, person.added, person.joined_at, inviter_id, inviter_email,
                 person.deactivated_at, inviter_id if person.deactivated_at else None)
            )  # fmt: skip
    cursor.execute(
        "CREATE TEMP TABLE seed_profile (n bigint, membership_id bigint, role text, first_day date, "
        "last_day date, joined_at timestamptz, weekday_threshold bigint, weekend_threshold bigint) "
        "ON COMMIT DROP"
    )
    with cursor.copy("COPY seed_profile FROM STDIN") as copy:
        for membership_id, person in zip(membership_ids, people, strict=True):
            if person.first_day is not None:
                copy.write_row(
                    (person.n, membership_id, person.role, person.first_day, person.last_day,
                     person.joined_at, round(person.rate * 2**24), round(person.rate * WEEKEND_FACTOR * 2**24))
                )  # fmt: skip
    cursor.execute("ANALYZE seed_profile")
    return membership_ids


def _write_activity(cursor, people: list[Person], *, seed: int, as_of: dt.datetime, progress) -> int:
    sql = _ACTIVITY_SQL.format(
        day_table=_table(ActivityDay),
        login=ActivityKind.LOGIN.value,
        page_view=ActivityKind.PAGE_VIEW.value,
        run_logged=ActivityKind.RUN_LOGGED.value,
        sdk=ActivityKind.SDK.value,
        api=ActivityKind.API.value,
    )
    total = len(people)
    chunk = max(1, math.ceil(total / ACTIVITY_CHUNKS))
    rows = 0
    for low in range(1, total + 1, chunk):
        high = min(total, low + chunk - 1)
        progress(f"activity of people {low:,}-{high:,} of {total:,}", 0.15 + 0.7 * (low - 1) / total)
        cursor.execute(sql, {"as_of": as_of, "seed": seed, "low": low, "high": high})
        rows += cursor.rowcount
    return rows


def _write_memberships(cursor) -> None:
    """The seeded memberships, each with its last active time and days active computed from its
    day rows — one statement."""
    cursor.execute(
        f"""
        INSERT INTO {_table(Membership)} ({_MEMBER_COLUMNS}, last_active, days_active)
        SELECT {", ".join(f"m.{column.strip()}" for column in _MEMBER_COLUMNS.split(","))},
               f.last_seen, COALESCE(f.days, 0)
        FROM seed_member m
        LEFT JOIN (
            SELECT a.membership_id, max(a.last_seen) AS last_seen, count(*) AS days
            FROM {_table(ActivityDay)} a JOIN seed_profile p ON p.membership_id = a.membership_id
            GROUP BY a.membership_id
        ) f ON f.membership_id = m.id
        ORDER BY m.id
        """
    )


def _write_invites(cursor, people: list[Person], membership_ids: list[int]) -> None:
    ttl = dt.timedelta(days=settings.ORGDASH_INVITE_TTL_DAYS)
    pending = [
        (membership_id, person)
        for membership_id, person in zip(membership_ids, people, strict=True)
        if person.state == Membership.State.INVITED
    ]
    invite_ids = _allocate_ids(cursor, Invite, len(pending))
    columns = "id, membership_id, token_hash, expires_at, sent_at, send_attempts, last_send_error"
    with cursor.copy(f"COPY {_table(Invite)} ({columns}) FROM STDIN") as copy:
        for invite_id, (membership_id, person) in zip(invite_ids, pending, strict=True):
            # A hash of a secret nobody holds: the link works only once an admin resends it.
            token_hash = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
            copy.write_row((invite_id, membership_id, token_hash, person.added + ttl, person.added, 1, ""))


def _set_aside_for_bulk_load(cursor, model, *, foreign_keys: bool) -> list[str]:
    """Drops ``model``'s plain (non-unique) indexes and, with ``foreign_keys``, its foreign keys;
    returns the statements that put them back. Building an index and validating a foreign key
    once over all rows is far cheaper than maintaining them row by row (PostgreSQL's "Populating
    a Database"). It all happens inside the seeding transaction: a failed run changes nothing."""
    table = _table(model, connection.schema_name)
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    found_keys = []
    if foreign_keys:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        found_keys = cursor.fetchall()
    quote = connection.ops.quote_name
    restore = []
    for name, definition in indexes:
        cursor.execute(f"DROP INDEX {quote(connection.schema_name)}.{quote(name)}")
        restore.append(definition)
    for name, definition in found_keys:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        restore.append(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
    return restore
