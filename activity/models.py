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


class DailyActiveUsers(models.Model):
    """Members active on each day; days without activity have no row."""

    day = models.DateField(unique=True)
    active_users = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "daily active users"

    def __str__(self) -> str:
        return f"{self.day}: {self.active_users}"


class PeriodTotal(models.Model):
    """The window a period's figures were computed for, and its unique active users."""

    period = models.CharField(max_length=8, choices=Period.choices, unique=True)
    start = models.DateField()
    end = models.DateField()
    total_active_users = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.period} {self.start}..{self.end}: {self.total_active_users}"


class PeriodCumulative(models.Model):
    """Unique members active from the period's start through ``day``, one row per day of the window."""

    period = models.CharField(max_length=8, choices=Period.choices)
    day = models.DateField()
    cumulative_users = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["period", "day"], name="periodcumulative_one_per_day")]

    def __str__(self) -> str:
        return f"{self.period} {self.day}: {self.cumulative_users}"


class AggregateState(models.Model):
    """Bookkeeping of the aggregate refresh: one row per org (id 1), written in the refresh's
    own transaction, so the figures and this row always describe the same refresh."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    computed_at = models.DateTimeField()
    computed_for_day = models.DateField(help_text="The 'today' (UTC) the period windows end on.")
    last_full_refresh_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="aggregatestate_singleton")]

    def __str__(self) -> str:
        return f"computed {self.computed_at:%Y-%m-%d %H:%M:%S} for {self.computed_for_day}"
