"""Tenant (org schema) models of seat hygiene: the dormancy policy, the usage-report settings,
and what each has done (warnings, daily runs, reports and their deliveries)."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Role

AFTER_DAYS_MIN, AFTER_DAYS_MAX, AFTER_DAYS_DEFAULT = 30, 730, 90
WARN_DAYS_MIN, WARN_DAYS_MAX, WARN_DAYS_DEFAULT = 0, 30, 7


def default_exempt_roles() -> list[str]:
    return [Role.ADMIN.value]


class DormancyPolicy(models.Model):
    """The org's dormant-user policy: one row (id 1), off until an admin enables it."""

    enabled = models.BooleanField(default=False)
    after_days = models.PositiveSmallIntegerField(default=AFTER_DAYS_DEFAULT)
    warn_days_before = models.PositiveSmallIntegerField(default=WARN_DAYS_DEFAULT)
    exempt_roles = ArrayField(models.CharField(max_length=16, choices=Role.choices), default=default_exempt_roles)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name_plural = "dormancy policy"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="dormancypolicy_single_row"),
            models.CheckConstraint(
                condition=Q(after_days__gte=AFTER_DAYS_MIN, after_days__lte=AFTER_DAYS_MAX),
                name="dormancypolicy_after_days_range",
            ),
            models.CheckConstraint(
                condition=Q(warn_days_before__gte=WARN_DAYS_MIN, warn_days_before__lte=WARN_DAYS_MAX)
                & Q(warn_days_before__lt=models.F("after_days")),
                name="dormancypolicy_warn_days_range",
            ),
        ]

    def __str__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"dormancy policy ({state}): {self.after_days} days, warn {self.warn_days_before} before"


class ReportFrequency(models.TextChoices):
    OFF = "off", "Off"
    WEEKLY = "weekly", "Weekly (Mondays, for the week before)"
    MONTHLY = "monthly", "Monthly (the 1st, for the month before)"


class ReportSettings(models.Model):
    """Who gets the usage report and how often: one row (id 1)."""

    frequency = models.CharField(max_length=8, choices=ReportFrequency.choices, default=ReportFrequency.OFF)
    recipients = ArrayField(models.EmailField(), default=list, blank=True, help_text="Empty: every active admin.")
    # Only periods that ended after this are sent: switching reports on never mails old periods.
    scheduled_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by_email = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name_plural = "report settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="reportsettings_single_row")]

    def __str__(self) -> str:
        return f"usage reports: {self.frequency}"


class DormancyWarning(models.Model):
    """One warning e-mail per dormancy episode. An episode is identified by ``quiet_since``, when
    the person was last seen (or added, or reactivated); any activity starts a new episode."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="dormancy_warnings")
    quiet_since = models.DateTimeField()
    warned_at = models.DateTimeField(default=timezone.now)
    deactivate_on = models.DateField(help_text="The first day the policy may deactivate the person.")
    token_hash = models.CharField(max_length=64, unique=True)
    kept_at = models.DateTimeField(null=True, blank=True, help_text="When the person said they still need access.")
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    last_send_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "quiet_since"], name="dormancywarning_one_per_episode"),
        ]
        indexes = [models.Index(fields=["warned_at"], name="dormancywarning_warned_at")]

    def __str__(self) -> str:
        return f"warning to {self.membership_id} on {self.warned_at:%Y-%m-%d}"


class PolicyRun(models.Model):
    """The policy's run of one UTC day: its row makes a second run the same day do nothing."""

    day = models.DateField(unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    warned = models.PositiveIntegerField(default=0)
    deactivated = models.PositiveIntegerField(default=0)
    kept_last_admin = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"policy run {self.day}: {self.warned} warned, {self.deactivated} deactivated"


class UsageReport(models.Model):
    """One report of one period. A scheduled report exists at most once per frequency and period
    (a unique index): a second beat, a rerun or a restart cannot send it twice."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        ON_DEMAND = "on_demand", "Sent on request"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    frequency = models.CharField(max_length=8, choices=ReportFrequency.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    requested_by_email = models.CharField(max_length=254, blank=True)
    figures = models.JSONField(default=dict, help_text="The report's numbers, frozen when it was made.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["frequency", "period_start"],
                condition=Q(kind="scheduled"),
                name="usagereport_once_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.frequency} report {self.period_start}..{self.period_end} ({self.kind})"


class UsageReportDelivery(models.Model):
    """The report's e-mail to one recipient, with the same delivery state invites have."""

    report = models.ForeignKey(UsageReport, on_delete=models.CASCADE, related_name="deliveries")
    email = models.EmailField()
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    last_send_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "usage report deliveries"
        constraints = [models.UniqueConstraint(fields=["report", "email"], name="usagereportdelivery_once")]

    def __str__(self) -> str:
        return f"{self.report} to {self.email}"
