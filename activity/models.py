"""Per-org activity: one row per member per UTC day, and the aggregates computed from them."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import Membership


class ActivityKind(models.IntegerChoices):
    """Bit flags: a day row keeps every kind of activity seen that day."""

    LOGIN = 1, "login"
    PAGE_VIEW = 2, "page_view"
    RUN_LOGGED = 4, "run_logged"
    SDK = 8, "sdk"
    API = 16, "api"


class ActivityDay(models.Model):
    # No index of its own: the unique (membership, day) index serves lookups by membership.
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="activity_days", db_index=False)
    day = models.DateField()
    kinds = models.SmallIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "day"], name="activityday_one_per_member_day"),
        ]
        indexes = [models.Index(fields=["day", "membership"], name="activityday_day_member")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.day}"


class Run(models.Model):
    """A run logged by a member (through the API or the SDK); logging one counts as activity."""

    class Client(models.TextChoices):
        SDK = "sdk", "SDK"
        API = "api", "API"
        WEB = "web", "Browser session"

    project = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(Membership, null=True, on_delete=models.SET_NULL, related_name="runs")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    client = models.CharField(max_length=8, choices=Client.choices, default=Client.API)

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"


class ActivityDirtyDay(models.Model):
    """A day whose activity changed since the last aggregate refresh (written by recording and
    ingestion, consumed by ``activity.aggregates.refresh_activity``)."""

    day = models.DateField(unique=True)

    def __str__(self) -> str:
        return str(self.day)


class ActivityDirtyMembers(models.Model):
    """Members of one ingested batch whose ``days_active``/``last_active`` do not include it yet
    (written by ingestion, consumed by ``activity.services.membership_stats_catch_up``).

    One row per batch, not per member: marking a thousand members costs ingestion one small
    insert. ``last_seen[i]`` is the batch's latest time of ``membership_ids[i]``."""

    membership_ids = ArrayField(models.BigIntegerField())
    last_seen = ArrayField(models.DateTimeField())
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name_plural = "activity dirty members"

    def __str__(self) -> str:
        return f"{len(self.membership_ids)} members ingested {self.created_at:%Y-%m-%d %H:%M:%S}"


# --- Aggregates (written only by activity.aggregates, read by activity.selectors) ---------------


class Period(models.TextChoices):
    DAYS_30 = "30d", "Last 30 days"
    MONTHS_3 = "3m", "Last 3 months"
    MONTHS_6 = "6m", "Last 6 months"
    MONTHS_12 = "12m", "Last 12 months"
    ALL = "all", "All time"


# Kinds of the aggregates: 0 is "any kind", the others are ``ActivityKind`` bits.
KIND_ANY = 0
# The web surface: pages and log-ins (a mask of two kinds: active with either).
KIND_WEB = ActivityKind.LOGIN | ActivityKind.PAGE_VIEW
AGGREGATE_KINDS: tuple[int, ...] = (KIND_ANY, *ActivityKind.values, KIND_WEB)
# How many days back a day's "new to the window" counts reach: the longest calendar window (12
# months) spans at most 366 days.
HORIZON_DAYS = 366


class DayFigures(models.Model):
    """One day's members active with one kind (``kind`` 0: any), and how recently each was active
    before with that kind. ``new_after[j]`` (1-based) counts those whose previous active day is
    more than ``j`` days earlier, or who have none: a window starting ``j`` days before this day
    counts exactly them as new that day. ``first_time_users`` had no earlier active day at all;
    ``beyond_horizon_users`` none within ``HORIZON_DAYS``.

    Every window figure (cumulative uniques of any period, week and month uniques, WAU/MAU) is a
    sum over these rows, so moving every window by a day costs one new day of these rows."""

    day = models.DateField()
    kind = models.PositiveSmallIntegerField()
    active_users = models.PositiveIntegerField()
    first_time_users = models.PositiveIntegerField()
    # Past the array's end (it stops at the longest gap within the horizon) every entry would be this.
    beyond_horizon_users = models.PositiveIntegerField()
    new_after = ArrayField(models.IntegerField(), size=HORIZON_DAYS)

    class Meta:
        verbose_name_plural = "day figures"
        constraints = [models.UniqueConstraint(fields=["day", "kind"], name="dayfigures_one_per_day_kind")]

    def __str__(self) -> str:
        return f"{self.day} kind {self.kind}: {self.active_users}"


class MemberFirstDays(models.Model):
    """Each member's first active day, overall and with each kind (null: never): tells a day's
    refresh who had no earlier activity without reading anyone's history."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, primary_key=True, related_name="+")
    first_any = models.DateField(null=True)
    first_login = models.DateField(null=True)
    first_page_view = models.DateField(null=True)
    first_run_logged = models.DateField(null=True)
    first_sdk = models.DateField(null=True)
    first_api = models.DateField(null=True)
    first_web = models.DateField(null=True, help_text="With a log-in or a page view.")

    class Meta:
        verbose_name_plural = "member first days"

    def __str__(self) -> str:
        return f"{self.membership_id} since {self.first_any}"


class PeriodFigures(models.Model):
    """A period's window and, for one kind (0: any), users active on each day and the unique
    users from the start through each day."""

    period = models.CharField(max_length=8, choices=Period.choices)
    kind = models.PositiveSmallIntegerField()
    start = models.DateField()
    end = models.DateField()
    total_active_users = models.PositiveIntegerField()
    daily = ArrayField(models.IntegerField())
    cumulative = ArrayField(models.IntegerField())

    class Meta:
        verbose_name_plural = "period figures"
        constraints = [models.UniqueConstraint(fields=["period", "kind"], name="periodfigures_one_per_period_kind")]

    def __str__(self) -> str:
        return f"{self.period} kind {self.kind} {self.start}..{self.end}: {self.total_active_users}"


class Interval(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class BucketFigures(models.Model):
    """Unique users active with one kind (0: any) in an ISO week or a calendar month, through the
    refresh's day for the current one."""

    interval = models.CharField(max_length=8, choices=Interval.choices)
    kind = models.PositiveSmallIntegerField()
    start = models.DateField()
    active_users = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "bucket figures"
        constraints = [
            models.UniqueConstraint(fields=["interval", "kind", "start"], name="bucketfigures_one_per_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.interval} {self.start} kind {self.kind}: {self.active_users}"


class MemberPeriodDays(models.Model):
    """The leaderboard: each member's active days in a period's window and their last one there.
    Members without activity in the window have no row.

    Only the member is indexed: moving a window by a day rewrites the rows of every member active
    on the day that left it, and those updates stay on their page with no index entry to add (the
    table leaves room on each page for them). The top of each board is read from ``PeriodLeaders``."""

    period = models.CharField(max_length=8, choices=Period.choices)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+", db_index=False)
    days_active = models.PositiveIntegerField()
    last_active = models.DateField()

    class Meta:
        verbose_name_plural = "member period days"
        constraints = [
            models.UniqueConstraint(fields=["period", "membership"], name="memberperioddays_one_per_member"),
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.membership_id}: {self.days_active}"


class PeriodLeaders(models.Model):
    """The head of each period's leaderboard: copies of the ``MemberPeriodDays`` rows ranked at or
    above the lowest one stored here (most days active, then latest last active, then id). Every
    member not stored ranks below all stored ones, so the first ``limit`` rows here are the
    leaderboard's first ``limit`` whenever at least that many are stored."""

    period = models.CharField(max_length=8, choices=Period.choices)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+", db_index=False)
    days_active = models.PositiveIntegerField()
    last_active = models.DateField()

    class Meta:
        verbose_name_plural = "period leaders"
        constraints = [
            models.UniqueConstraint(fields=["period", "membership"], name="periodleaders_one_per_member"),
        ]
        indexes = [
            models.Index(
                "period",
                models.F("days_active").desc(),
                models.F("last_active").desc(),
                "membership",
                name="periodleaders_ranking",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.membership_id}: {self.days_active}"


class AggregateState(models.Model):
    """Bookkeeping of the aggregate refresh: one row per org (id 1), written in the refresh's
    own transaction, so the figures and this row always describe the same refresh."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    computed_at = models.DateTimeField()
    computed_for_day = models.DateField(help_text="The 'today' (UTC) the period windows end on.")
    last_full_refresh_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(default=0)
    engagement = models.JSONField(
        default=dict, help_text="DAU, WAU, MAU and stickiness as of the day, and 30 days earlier."
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="aggregatestate_singleton")]

    def __str__(self) -> str:
        return f"computed {self.computed_at:%Y-%m-%d %H:%M:%S} for {self.computed_for_day}"
