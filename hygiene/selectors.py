"""Reads of seat hygiene: the settings, what the dormancy policy would do on a day, the usage
report's periods and figures, and what the policy did lately.

The report's figures come from the same rows the API reads (activity day rows, memberships, the
audit log) with the accounts app's own status rule, so a report and the API always agree.
"""

import datetime as dt
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest

from accounts.models import AuditAction, AuditEvent, Membership, Role, Status, SystemActor
from accounts.selectors import inactivity_cutoff, status_condition
from activity.models import ActivityDay
from hygiene.models import (
    DormancyPolicy,
    DormancyWarning,
    ReportFrequency,
    ReportSettings,
)

# Audit actions: the policy's own, those it reads, and the settings'.
PREVIEW_SAMPLE_SIZE = 20
TOP_USERS = 10


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


# --- settings ------------------------------------------------------------------------------


def dormancy_policy_get() -> DormancyPolicy:
    """The org's policy (the defaults, unsaved, until an admin first saves it)."""
    return DormancyPolicy.objects.filter(pk=1).first() or DormancyPolicy(pk=1)


def report_settings_get() -> ReportSettings:
    return ReportSettings.objects.filter(pk=1).first() or ReportSettings(pk=1)


# --- dormancy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyTerms:
    after_days: int
    warn_days_before: int
    exempt_roles: tuple[str, ...]

    @classmethod
    def of(cls, policy: DormancyPolicy) -> "PolicyTerms":
        return cls(policy.after_days, policy.warn_days_before, tuple(policy.exempt_roles))


@dataclass
class DormancyPlan:
    """What the policy does on ``today``: who gets a warning, who is deactivated, and how many
    admins it leaves alone so the org keeps an active admin."""

    today: dt.date
    terms: PolicyTerms
    warn: list[Membership] = field(default_factory=list)
    deactivate: list[Membership] = field(default_factory=list)
    kept_last_admin: int = 0

    def deactivate_on(self, membership: Membership) -> dt.date:
        """The first day a person warned today may be deactivated: at ``after_days`` of quiet,
        and never sooner than ``warn_days_before`` days after the warning."""
        due = utc_day(membership.quiet_since) + dt.timedelta(days=self.terms.after_days)
        return max(due, self.today + dt.timedelta(days=self.terms.warn_days_before))


def quiet_members(exempt_roles=()) -> QuerySet[Membership]:
    """Joined members outside ``exempt_roles`` with ``quiet_since``: when their current dormancy
    episode began — last active (or added when never active), or their last reactivation if
    later. Pending invites are not members and are never included."""
    seen = Coalesce("last_active", "created_at")
    reactivated = Subquery(
        AuditEvent.objects.filter(target_membership=OuterRef("pk"), action=AuditAction.MEMBERSHIP_REACTIVATE)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return (
        Membership.objects.filter(state=Membership.State.JOINED)
        .exclude(role__in=list(exempt_roles))
        .annotate(quiet_since=Greatest(seen, Coalesce(reactivated, seen)))
    )


def dormancy_plan(*, terms: PolicyTerms, today: dt.date) -> DormancyPlan:
    """Who the policy warns and deactivates on ``today`` (the same answer for the daily run and
    the preview). A member is warned once per episode after ``after_days - warn_days_before``
    quiet days, and deactivated once ``after_days`` are reached and the warning's notice has run
    out; activity since the warning starts a new episode, so that warning no longer counts."""
    plan = DormancyPlan(today=today, terms=terms)
    warn_from = start_of_day(today - dt.timedelta(days=terms.after_days - terms.warn_days_before - 1))
    deactivate_from = start_of_day(today - dt.timedelta(days=terms.after_days - 1))
    # The plain-column condition first (indexed, and it implies nothing about reactivations):
    # quiet_since is never earlier than the last activity or the day added.
    seen_before = Q(last_active__lt=warn_from) | Q(last_active__isnull=True, created_at__lt=warn_from)
    members = (
        quiet_members(terms.exempt_roles)
        .filter(seen_before, quiet_since__lt=warn_from)
        .only("id", "email", "name", "role", "state", "last_active", "created_at")
    )
    episode_warnings = DormancyWarning.objects.filter(
        membership=OuterRef("pk"), quiet_since__gte=OuterRef("quiet_since")
    )
    members = members.annotate(
        warned=Exists(episode_warnings),
        notice_over=Exists(episode_warnings.filter(deactivate_on__lte=today, kept_at__isnull=True)),
    ).order_by("quiet_since", "id")
    for member in members:
        if terms.warn_days_before == 0:
            if member.quiet_since < deactivate_from:
                plan.deactivate.append(member)
        elif member.notice_over and member.quiet_since < deactivate_from:
            plan.deactivate.append(member)
        elif not member.warned:
            plan.warn.append(member)
    _keep_an_admin(plan)
    return plan


def _keep_an_admin(plan: DormancyPlan) -> None:
    """Never the last active admin: when the plan would reach every active admin, the most
    recently seen of them is left out (neither warned nor deactivated)."""
    acting = [m for m in plan.deactivate + plan.warn if m.role == Role.ADMIN]
    if not acting:
        return
    admins = Membership.objects.filter(state=Membership.State.JOINED, role=Role.ADMIN).count()
    if len(acting) < admins:
        return
    keep = max(acting, key=lambda m: (m.quiet_since, m.pk))
    plan.deactivate = [m for m in plan.deactivate if m.pk != keep.pk]
    plan.warn = [m for m in plan.warn if m.pk != keep.pk]
    plan.kept_last_admin = 1


def policy_actions_since(since: dt.datetime, until: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    """The policy's audit rows (warnings and deactivations), newest first."""
    events = AuditEvent.objects.filter(
        actor_email=SystemActor.POLICY,
        action__in=[AuditAction.DORMANCY_WARN, AuditAction.MEMBERSHIP_DEACTIVATE],
        created_at__gte=since,
    )
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events


@dataclass
class PolicyWeek:
    warned: int
    deactivated: int
    # People the policy deactivated in the window and who are still deactivated (reactivate-able).
    still_deactivated: list[Membership]


def policy_week(*, now: dt.datetime) -> PolicyWeek:
    """What the policy did in the last seven days, for the Users tab's banner."""
    events = policy_actions_since(now - dt.timedelta(days=7))
    counts = events.aggregate(
        warned=Count("id", filter=Q(action=AuditAction.DORMANCY_WARN)),
        deactivated=Count("id", filter=Q(action=AuditAction.MEMBERSHIP_DEACTIVATE)),
    )
    still: list[Membership] = []
    if counts["deactivated"]:  # the Users tab pays one small query when the policy did nothing
        deactivated_ids = events.filter(action=AuditAction.MEMBERSHIP_DEACTIVATE).values("target_membership_id")
        still = list(
            Membership.objects.filter(pk__in=deactivated_ids, state=Membership.State.DEACTIVATED).order_by(
                "-deactivated_at", "id"
            )[:50]
        )
    return PolicyWeek(counts["warned"], counts["deactivated"], still)


# --- usage reports -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPeriod:
    frequency: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def previous(self) -> "ReportPeriod":
        if self.frequency == ReportFrequency.MONTHLY:
            start = self.start - relativedelta(months=1)
            return ReportPeriod(self.frequency, start, self.start - dt.timedelta(days=1))
        length = (self.end - self.start).days + 1
        return ReportPeriod(self.frequency, self.start - dt.timedelta(days=length), self.start - dt.timedelta(days=1))


def last_full_period(*, frequency: str, today: dt.date) -> ReportPeriod:
    """The period that ended most recently before ``today``: last Monday to Sunday week, or last
    calendar month."""
    if frequency == ReportFrequency.MONTHLY:
        first_of_month = today.replace(day=1)
        start = first_of_month - relativedelta(months=1)
        return ReportPeriod(frequency, start, first_of_month - dt.timedelta(days=1))
    this_monday = today - dt.timedelta(days=today.weekday())
    return ReportPeriod(ReportFrequency.WEEKLY, this_monday - dt.timedelta(days=7), this_monday - dt.timedelta(days=1))


def active_users_between(start: dt.date, end: dt.date) -> int:
    """People active on at least one day of [start, end]: the API's "unique active users"."""
    return ActivityDay.objects.filter(day__gte=start, day__lte=end).values("membership_id").distinct().count()


def top_users_between(start: dt.date, end: dt.date, *, limit: int = TOP_USERS) -> list[dict]:
    """The most active people of [start, end]: most active days, then latest activity, then id."""
    rows = (
        ActivityDay.objects.filter(day__gte=start, day__lte=end)
        .values("membership_id")
        .annotate(active_days=Count("id"), last_day=Max("day"))
        .order_by("-active_days", "-last_day", "membership_id")[:limit]
    )
    rows = list(rows)
    people = Membership.objects.in_bulk([row["membership_id"] for row in rows])
    return [
        {
            "id": row["membership_id"],
            "name": people[row["membership_id"]].name or "",
            "email": people[row["membership_id"]].email,
            "active_days": row["active_days"],
        }
        for row in rows
    ]


def usage_figures(*, period: ReportPeriod, now: dt.datetime) -> dict:
    """The numbers of a usage report of ``period`` (JSON-ready). ``inactive`` is the Users tab's
    status at ``now``, as the attached CSV lists them."""
    start_at, end_at = start_of_day(period.start), start_of_day(period.end + dt.timedelta(days=1))
    previous = period.previous
    policy = policy_actions_since(start_at, end_at).aggregate(
        warned=Count("id", filter=Q(action=AuditAction.DORMANCY_WARN)),
        deactivated=Count("id", filter=Q(action=AuditAction.MEMBERSHIP_DEACTIVATE)),
    )
    cutoff = inactivity_cutoff(now)
    counts = Membership.objects.aggregate(
        # Joined: members (not pending invites) whose "added" (the Users list's column) is in the period.
        joined=Count(
            "id", filter=~Q(state=Membership.State.INVITED) & Q(created_at__gte=start_at, created_at__lt=end_at)
        ),
        deactivated=Count(
            "id", filter=Q(state=Membership.State.DEACTIVATED, deactivated_at__gte=start_at, deactivated_at__lt=end_at)
        ),
        members=Count("id", filter=Q(state=Membership.State.JOINED)),
        inactive=Count("id", filter=status_condition(Status.INACTIVE, cutoff)),
    )
    return {
        "frequency": period.frequency,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "active_users": active_users_between(period.start, period.end),
        "previous_start": previous.start.isoformat(),
        "previous_end": previous.end.isoformat(),
        "previous_active_users": active_users_between(previous.start, previous.end),
        "members": counts["members"],
        "joined": counts["joined"],
        "deactivated": counts["deactivated"],
        "inactive": counts["inactive"],
        "top_users": top_users_between(period.start, period.end),
        "policy_warned": policy["warned"],
        "policy_deactivated": policy["deactivated"],
        "computed_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def report_recipients(settings: ReportSettings) -> list[str]:
    """The listed recipients, or every active admin when none are listed."""
    return list(settings.recipients) if settings.recipients else active_admin_emails()


def active_admin_emails() -> list[str]:
    admins = Membership.objects.filter(state=Membership.State.JOINED, role=Role.ADMIN).order_by("id")
    return list(dict.fromkeys(email.lower() for email in admins.values_list("email", flat=True)))
