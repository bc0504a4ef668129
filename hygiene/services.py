"""Writes of seat hygiene: the settings, the daily dormancy run, "I still need access", and the
usage reports.

Each function is keyword-only, atomic and idempotent, and audits what a person or the policy did.
E-mails are queued with ``transaction.on_commit`` (a worker never reads uncommitted rows) and sent
by ``hygiene.tasks`` with retries and per-e-mail delivery state, like invites.
"""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.audit_services import audit_record
from accounts.models import AuditAction, Membership, Role, SystemActor
from accounts.services import membership_deactivate
from activity.models import ActivityKind
from activity.services import activity_record_write
from hygiene import selectors
from hygiene.mail import send_dormancy_warning, send_usage_report
from hygiene.models import (
    AFTER_DAYS_MAX,
    AFTER_DAYS_MIN,
    WARN_DAYS_MAX,
    WARN_DAYS_MIN,
    DormancyPolicy,
    DormancyWarning,
    PolicyRun,
    ReportFrequency,
    ReportSettings,
    UsageReport,
    UsageReportDelivery,
)
from orgdash.errors import Conflict, InvalidInput

MAX_RECIPIENTS = 50


class KeepAccessInvalid(Exception):
    """A "still need access" link that is unknown, or whose person was already deactivated."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _actor_email(actor) -> str:
    return getattr(actor, "email", "") or ""


# --- settings ------------------------------------------------------------------------------


def validate_policy_terms(*, after_days: int, warn_days_before: int, exempt_roles) -> list[str]:
    """Raises InvalidInput (by field) unless the terms are within API.md's bounds; returns the
    de-duplicated exempt roles."""
    errors: dict[str, list[str]] = {}
    if not AFTER_DAYS_MIN <= after_days <= AFTER_DAYS_MAX:
        errors["after_days"] = [f"Must be between {AFTER_DAYS_MIN} and {AFTER_DAYS_MAX} days."]
    if not WARN_DAYS_MIN <= warn_days_before <= WARN_DAYS_MAX:
        errors["warn_days_before"] = [f"Must be between {WARN_DAYS_MIN} and {WARN_DAYS_MAX} days."]
    elif "after_days" not in errors and warn_days_before >= after_days:
        errors["warn_days_before"] = ["Must be fewer days than after_days."]
    roles = list(dict.fromkeys(exempt_roles))
    unknown = [role for role in roles if role not in Role.values]
    if unknown:
        errors["exempt_roles"] = [f"'{unknown[0]}' is not a role; use any of {', '.join(Role.values)}."]
    if errors:
        raise InvalidInput(errors=errors)
    return roles


@transaction.atomic
def dormancy_policy_update(
    *,
    enabled: bool,
    after_days: int,
    warn_days_before: int,
    exempt_roles,
    actor=None,
    ip_address: str | None = None,
) -> DormancyPolicy:
    roles = validate_policy_terms(after_days=after_days, warn_days_before=warn_days_before, exempt_roles=exempt_roles)
    policy, _ = DormancyPolicy.objects.select_for_update().get_or_create(pk=1)
    new = {"enabled": enabled, "after_days": after_days, "warn_days_before": warn_days_before, "exempt_roles": roles}
    old = {name: getattr(policy, name) for name in new}
    if old == new:
        return policy
    for name, value in new.items():
        setattr(policy, name, value)
    policy.updated_at = timezone.now()
    policy.updated_by_email = _actor_email(actor)
    policy.save()
    audit_record(action=AuditAction.DORMANCY_UPDATE_POLICY, actor=actor, ip_address=ip_address, old=old, new=new)
    return policy


def normalize_recipients(recipients) -> list[str]:
    cleaned, invalid = [], []
    for raw in recipients:
        email = str(raw).strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            invalid.append(str(raw))
            continue
        cleaned.append(email)
    if invalid:
        raise InvalidInput(errors={"recipients": [f"'{invalid[0]}' is not a valid e-mail address."]})
    cleaned = list(dict.fromkeys(cleaned))
    if len(cleaned) > MAX_RECIPIENTS:
        raise InvalidInput(errors={"recipients": [f"At most {MAX_RECIPIENTS} recipients."]})
    return cleaned


@transaction.atomic
def report_settings_update(
    *, frequency: str, recipients, actor=None, ip_address: str | None = None, now: dt.datetime | None = None
) -> ReportSettings:
    if frequency not in ReportFrequency.values:
        raise InvalidInput(errors={"frequency": [f"Use one of {', '.join(ReportFrequency.values)}."]})
    recipients = normalize_recipients(recipients)
    settings, _ = ReportSettings.objects.select_for_update().get_or_create(pk=1)
    old = {"frequency": settings.frequency, "recipients": list(settings.recipients)}
    new = {"frequency": frequency, "recipients": recipients}
    if old == new:
        return settings
    now = now or timezone.now()
    if frequency != settings.frequency:
        # A new schedule starts now: the periods that ended before it are not mailed.
        settings.scheduled_since = now if frequency != ReportFrequency.OFF else None
    settings.frequency = frequency
    settings.recipients = recipients
    settings.updated_at = now
    settings.updated_by_email = _actor_email(actor)
    settings.save()
    audit_record(action=AuditAction.REPORTS_UPDATE_SETTINGS, actor=actor, ip_address=ip_address, old=old, new=new)
    return settings


# --- dormancy ------------------------------------------------------------------------------


@dataclass
class PolicyRunResult:
    day: dt.date
    ran: bool  # False: the policy is off, or it already ran that day
    warned: int = 0
    deactivated: int = 0
    kept_last_admin: int = 0

    def describe(self) -> str:
        if not self.ran:
            return f"dormancy {self.day}: nothing to do"
        return f"dormancy {self.day}: {self.warned} warned, {self.deactivated} deactivated"


def _queue(task, **kwargs) -> None:
    # The schema is captured now: the callback may run after the caller has left the tenant context.
    schema_name = connection.schema_name

    def queue():
        task.apply_async(kwargs=kwargs, headers={"_schema_name": schema_name})

    # robust: a broker outage must not undo the run; the row keeps the delivery state.
    transaction.on_commit(queue, robust=True)


def _claim_day(today: dt.date, now: dt.datetime) -> bool:
    """Inserts the day's run row; False when it exists (or a concurrent run holds it: the
    insert waits for that run's transaction, then finds its row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PolicyRun._meta.db_table} (day, started_at, warned, deactivated, kept_last_admin)"
            " VALUES (%s, %s, 0, 0, 0) ON CONFLICT (day) DO NOTHING",
            [today, now],
        )
        return cursor.rowcount == 1


@transaction.atomic
def dormancy_run(*, now: dt.datetime | None = None) -> PolicyRunResult:
    """The policy's daily run in the current org: warns, then deactivates, as ``dormancy_plan``
    says. The day's ``PolicyRun`` row is claimed first, so a second run the same day (a rerun, a
    second beat) does nothing; a failed run rolls back entirely and can run again."""
    now = now or timezone.now()
    today = selectors.utc_day(now)
    policy = selectors.dormancy_policy_get()
    if not policy.enabled:
        return PolicyRunResult(today, ran=False)
    if not _claim_day(today, now):
        return PolicyRunResult(today, ran=False)
    plan = selectors.dormancy_plan(terms=selectors.PolicyTerms.of(policy), today=today)
    result = PolicyRunResult(today, ran=True, kept_last_admin=plan.kept_last_admin)
    for member in plan.warn:
        token = secrets.token_urlsafe(32)
        warning = DormancyWarning.objects.create(
            membership=member,
            quiet_since=member.quiet_since,
            warned_at=now,
            deactivate_on=plan.deactivate_on(member),
            token_hash=hash_token(token),
        )
        audit_record(
            action=AuditAction.DORMANCY_WARN,
            actor=SystemActor.POLICY,
            target=member,
            deactivate_on=warning.deactivate_on.isoformat(),
            quiet_since=member.quiet_since.isoformat(),
        )
        _queue(send_dormancy_warning, warning_id=warning.pk, token=token)
        result.warned += 1
    for member in plan.deactivate:
        try:
            with transaction.atomic():
                membership_deactivate(membership=member, actor=SystemActor.POLICY)
        except Conflict:  # became the last active admin meanwhile
            result.kept_last_admin += 1
            continue
        result.deactivated += 1
    PolicyRun.objects.filter(day=today).update(
        warned=result.warned, deactivated=result.deactivated, kept_last_admin=result.kept_last_admin
    )
    return result


@transaction.atomic
def dormancy_keep_access(*, token: str, now: dt.datetime | None = None) -> Membership:
    """The person followed "I still need access": it counts as their activity today, which
    starts a new dormancy episode (the warning no longer leads to a deactivation)."""
    now = now or timezone.now()
    warning = (
        DormancyWarning.objects.select_for_update()
        .select_related("membership")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if warning is None:
        raise KeepAccessInvalid("unknown")
    membership = warning.membership
    if membership.state != Membership.State.JOINED:
        raise KeepAccessInvalid("deactivated")
    if warning.kept_at is None:
        warning.kept_at = now
        warning.save(update_fields=["kept_at"])
        audit_record(action=AuditAction.DORMANCY_KEEP_ACCESS, actor=membership.user, target=membership)
    activity_record_write(
        schema=connection.schema_name, membership_id=membership.pk, kinds=ActivityKind.PAGE_VIEW, at=now
    )
    return membership


# --- usage reports -------------------------------------------------------------------------


def _create_report(
    *, kind: str, period: selectors.ReportPeriod, recipients: list[str], now: dt.datetime, requested_by: str = ""
) -> UsageReport:
    report = UsageReport.objects.create(
        kind=kind,
        frequency=period.frequency,
        period_start=period.start,
        period_end=period.end,
        created_at=now,
        requested_by_email=requested_by,
        figures=selectors.usage_figures(period=period, now=now),
    )
    UsageReportDelivery.objects.bulk_create([UsageReportDelivery(report=report, email=email) for email in recipients])
    return report


def _queue_deliveries(report: UsageReport) -> None:
    for delivery_id in report.deliveries.order_by("id").values_list("id", flat=True):
        _queue(send_usage_report, delivery_id=delivery_id)


@transaction.atomic
def usage_report_schedule(*, now: dt.datetime | None = None) -> UsageReport | None:
    """Makes (and queues) the scheduled report of the last full period when it is due: reports
    are on, the period ended after they were switched on, and it was never made. Returns the new
    report, or None. The unique index on (frequency, period) settles two concurrent callers."""
    now = now or timezone.now()
    settings = selectors.report_settings_get()
    if settings.frequency == ReportFrequency.OFF or settings.scheduled_since is None:
        return None
    period = selectors.last_full_period(frequency=settings.frequency, today=selectors.utc_day(now))
    if selectors.start_of_day(period.end + dt.timedelta(days=1)) <= settings.scheduled_since:
        return None
    if UsageReport.objects.filter(
        kind=UsageReport.Kind.SCHEDULED, frequency=period.frequency, period_start=period.start
    ).exists():
        return None
    recipients = selectors.report_recipients(settings)
    try:
        with transaction.atomic():
            report = _create_report(kind=UsageReport.Kind.SCHEDULED, period=period, recipients=recipients, now=now)
    except IntegrityError:  # another run made it first
        return None
    audit_record(
        action=AuditAction.REPORTS_SEND,
        actor=SystemActor.POLICY,
        frequency=period.frequency,
        start=period.start.isoformat(),
        end=period.end.isoformat(),
        recipients=len(recipients),
    )
    _queue_deliveries(report)
    return report


@transaction.atomic
def usage_report_send_now(
    *, actor, frequency: str | None = None, ip_address: str | None = None, now: dt.datetime | None = None
) -> UsageReport:
    """The last full period's report, now, to the caller only (weekly unless asked or set to monthly)."""
    now = now or timezone.now()
    email = _actor_email(actor)
    if not email:
        raise InvalidInput(errors={"non_field_errors": ["Your account has no e-mail address to send the report to."]})
    if frequency in (None, "", ReportFrequency.OFF):
        configured = selectors.report_settings_get().frequency
        frequency = configured if configured != ReportFrequency.OFF else ReportFrequency.WEEKLY
    if frequency not in (ReportFrequency.WEEKLY, ReportFrequency.MONTHLY):
        raise InvalidInput(errors={"frequency": ["Use weekly or monthly."]})
    period = selectors.last_full_period(frequency=frequency, today=selectors.utc_day(now))
    report = _create_report(
        kind=UsageReport.Kind.ON_DEMAND, period=period, recipients=[email.lower()], now=now, requested_by=email
    )
    audit_record(
        action=AuditAction.REPORTS_SEND_NOW,
        actor=actor,
        ip_address=ip_address,
        frequency=frequency,
        start=period.start.isoformat(),
        end=period.end.isoformat(),
    )
    _queue_deliveries(report)
    return report
