"""manage.py seed_demo: a realistic population, deterministic per seed, written in bulk."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.selectors import membership_status_counts
from activity.aggregates import refresh_activity
from activity.models import ActivityDay, ActivityDirtyDay, MemberFirstDays, MemberPeriodDays, PeriodLeaders
from activity.selectors import top_users
from tests.factories import make_member
from tooling import demo

AS_OF = "2026-06-15T15:30:00+00:00"


def seed(slug: str = "acme", **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    arguments = {"org": slug, "users": 200, "days": 400, "seed": 1, **options}
    call_command("seed_demo", stdout=out, stderr=err, **arguments)
    connection.set_schema_to_public()
    return out.getvalue(), err.getvalue()


def checksum(slug: str) -> str:
    """A digest of every seeded membership and day row, by e-mail (ids differ between runs)."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {slug}, public")
        cursor.execute(
            """
            SELECT md5(string_agg(concat_ws('|', m.email, m.username, m.name, m.role, m.state, m.created_at,
                                            m.joined_at, m.deactivated_at, m.last_active, m.days_active, u.name),
                                  ';' ORDER BY m.email)),
                   (SELECT md5(string_agg(concat_ws('|', mm.email, a.day, a.kinds, a.first_seen, a.last_seen),
                                          ';' ORDER BY mm.email, a.day))
                    FROM activity_activityday a JOIN accounts_membership mm ON mm.id = a.membership_id
                    WHERE mm.email LIKE %s)
            FROM accounts_membership m LEFT JOIN core_user u ON u.id = m.user_id
            WHERE m.email LIKE %s
            """,
            [demo.seeded_email_pattern(slug)] * 2,
        )
        row = cursor.fetchone()
    connection.set_schema_to_public()
    return "/".join(row)


def seeded(queryset):
    return queryset.filter(email__endswith="@acme.example")


def test_the_population_has_every_status_and_role_in_realistic_shares(acme):
    out, err = seed(users=400, days=400, seed=5)
    assert "400 users" in out
    assert "100%" in err and "activity" in err  # the progress line
    connection.set_tenant(acme)
    counts = membership_status_counts(search="@acme.example")
    assert counts == {
        "invite_pending": round(400 * demo.PENDING_SHARE),
        "active": 400 - round(400 * (demo.PENDING_SHARE + demo.DEACTIVATED_SHARE + demo.INACTIVE_SHARE)),
        "inactive": round(400 * demo.INACTIVE_SHARE),
        "deactivated": round(400 * demo.DEACTIVATED_SHARE),
        "total": 400,
    }
    members = seeded(Membership.objects.all())
    assert members.filter(role=Role.ADMIN).count() == round(400 * demo.ADMIN_SHARE)
    assert members.filter(role=Role.VIEWER).count() == round(400 * demo.VIEWER_SHARE)
    pending = members.filter(state=Membership.State.INVITED)
    assert all(m.user_id is None and m.username is None and hasattr(m, "invite") for m in pending)
    assert not ActivityDay.objects.filter(membership__in=pending).exists()


def test_activity_is_realistic_and_the_figures_agree_with_the_rows(acme):
    as_of = timezone.now()  # one instant for the history and the checks, should midnight pass while seeding
    seed(users=300, days=400, seed=9, as_of=as_of.isoformat())
    connection.set_tenant(acme)
    today = as_of.date()
    with connection.cursor() as cursor:
        # Figures: exactly the rows' count and latest time, for every seeded member.
        cursor.execute(
            """
            SELECT count(*) FROM accounts_membership m
            LEFT JOIN (SELECT membership_id, count(*) n, max(last_seen) last FROM activity_activityday
                       GROUP BY 1) a ON a.membership_id = m.id
            WHERE m.email LIKE '%%@acme.example'
              AND (m.days_active <> COALESCE(a.n, 0) OR m.last_active IS DISTINCT FROM a.last)
            """
        )
        assert cursor.fetchone()[0] == 0
        # Nobody is active before joining, after now, or after being deactivated; a day's times
        # fall on that (UTC) day, so a last active time is on the calendar's last active day.
        cursor.execute(
            """
            SELECT count(*) FROM activity_activityday a JOIN accounts_membership m ON m.id = a.membership_id
            WHERE a.first_seen < m.joined_at - interval '1 second' OR a.last_seen > clock_timestamp()
               OR a.first_seen > a.last_seen OR a.last_seen > m.deactivated_at OR a.kinds = 0
               OR (a.first_seen AT TIME ZONE 'UTC')::date <> a.day OR (a.last_seen AT TIME ZONE 'UTC')::date <> a.day
            """
        )
        assert cursor.fetchone()[0] == 0
        # Weekday rhythm: far more activity on a weekday than on a weekend day.
        cursor.execute(
            "SELECT extract(isodow FROM day) >= 6, count(*) FROM activity_activityday a "
            "JOIN accounts_membership m ON m.id = a.membership_id WHERE m.email LIKE '%%@acme.example' GROUP BY 1"
        )
        per_day = {weekend: count / (2 if weekend else 5) for weekend, count in cursor.fetchall()}
        assert per_day[False] > 2.5 * per_day[True]
        # Growth: the last quarter of the span is busier than the first.
        quarter = dt.timedelta(days=100)
        first = ActivityDay.objects.filter(day__lt=today - 3 * quarter).count()
        last = ActivityDay.objects.filter(day__gt=today - quarter).count()
        assert last > 2 * first > 0
    # People went quiet: the inactive ones have no activity in the last six months.
    cutoff = as_of - dt.timedelta(days=183)
    inactive = seeded(Membership.objects.filter(state=Membership.State.JOINED, last_active__lt=cutoff))
    assert inactive.count() == round(300 * demo.INACTIVE_SHARE)
    assert not ActivityDay.objects.filter(membership__in=inactive, day__gte=cutoff.date()).exists()
    # Every day of the span is marked for the aggregate refresh.
    assert ActivityDirtyDay.objects.filter(day__gt=today - dt.timedelta(days=400)).count() == 400


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(acme):
    seed(seed=7, as_of=AS_OF)
    first = checksum("acme")
    seed(seed=7, as_of=AS_OF, reset=True)
    assert checksum("acme") == first
    seed(seed=8, as_of=AS_OF, reset=True)
    assert checksum("acme") != first


def test_bulk_mode_rebuilds_indexes_and_foreign_keys(acme, monkeypatch):
    """Big runs drop and rebuild the plain indexes and the day rows' foreign key; same data."""
    seed(seed=4, as_of=AS_OF)
    small = checksum("acme")
    monkeypatch.setattr(demo, "BULK_LOAD_MIN_PEOPLE", 1)
    seed(seed=4, as_of=AS_OF, reset=True)
    assert checksum("acme") == small
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'acme' AND tablename = 'activity_activityday'"
        )
        assert "activityday_day_member" in {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'acme.activity_activityday'::regclass "
            "AND contype = 'f'"
        )
        assert cursor.fetchone()[0] == 1
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'acme' AND tablename = 'accounts_membership'"
        )
        assert cursor.fetchone()[0] > 10


def test_seeding_twice_needs_reset_and_reset_keeps_everyone_else(acme):
    connection.set_tenant(acme)
    regular = make_member()
    ActivityDay.objects.create(
        membership=regular, day=dt.date(2026, 1, 5), kinds=2, first_seen=timezone.now(), last_seen=timezone.now()
    )
    connection.set_schema_to_public()
    seed(users=50, days=100)
    with pytest.raises(CommandError, match="already has 50 seeded users"):
        seed(users=50, days=100)
    out, _ = seed(users=60, days=100, reset=True)
    assert "replaced 50" in out
    connection.set_tenant(acme)
    assert seeded(Membership.objects.all()).count() == 60
    assert ActivityDay.objects.filter(membership=regular).count() == 1
    assert Membership.objects.filter(email__in=["admin@acme.test", "member@acme.test", "viewer@acme.test"]).count() == 3


def test_if_empty_seeds_only_an_org_with_few_members(globex):
    out, _ = seed("globex", users=30, days=60, if_empty=True)
    assert "30 users" in out
    out, _ = seed("globex", users=30, days=60, if_empty=True)
    assert "skipped" in out
    connection.set_tenant(globex)
    assert Membership.objects.filter(email__endswith="@globex.example").count() == 30


def test_bad_arguments_are_refused(db):
    with pytest.raises(CommandError, match="No organization"):
        seed("nope")
    with pytest.raises(CommandError, match="at least 1"):
        seed(users=0)
    with pytest.raises(CommandError, match="ISO 8601"):
        seed(as_of="last tuesday")


def test_reset_after_a_refresh_removes_the_seeded_people_from_the_aggregates(acme):
    """The aggregates keep rows per member (first days, leaderboards): a reset must take them along,
    and the next refresh must count only the people who are left."""
    seed(users=40, days=60, seed=3, as_of=AS_OF)
    today = dt.date.fromisoformat(AS_OF[:10])
    connection.set_tenant(acme)
    refresh_activity(full=True, today=today)
    seeded_before = set(seeded(Membership.objects.all()).values_list("pk", flat=True))
    assert PeriodLeaders.objects.filter(membership_id__in=seeded_before).exists()
    connection.set_schema_to_public()

    out, _ = seed(users=40, days=60, seed=4, as_of=AS_OF, reset=True)
    assert "replaced 40" in out
    connection.set_tenant(acme)
    for model in (MemberFirstDays, MemberPeriodDays, PeriodLeaders):
        assert not model.objects.filter(membership_id__in=seeded_before).exists(), model.__name__
    refresh_activity(today=today)
    leaders = set(PeriodLeaders.objects.values_list("membership_id", flat=True))
    assert leaders and leaders <= set(Membership.objects.values_list("pk", flat=True))
    assert not {row["user"]["id"] for row in top_users(period="all", limit=10).results} & seeded_before
