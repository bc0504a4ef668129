"""Per-org activity: one row per member per UTC day, and the aggregates computed from them."""

from django.db import models

from accounts.models import Membership


class ActivityKind(models.IntegerChoices):
    """Bit flags: a day row keeps every kind of activity seen that day."""

    LOGIN = 1, "login"
    PAGE_VIEW = 2, "page_view"
    RUN_LOGGED = 4, "run_logged"
    SDK = 8, "sdk"
    API = 16, "api"


class ActivityDay(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="activity_days")
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
