"""Reads of the org's audit trail: filtered in the database, newest first."""

import datetime as dt
from collections.abc import Iterator

from django.db.models import QuerySet

from accounts.models import AuditEvent, audit_action_label

# Rows per page of the trail, in the API and on the Audit log tab.
AUDIT_PAGE_SIZE = 50


def audit_event_list(
    *,
    action: str = "",
    actor: str = "",
    target: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events matching every given filter, newest first (ties by id, so pages are stable).

    ``action`` is one action or several separated by commas; ``actor`` and ``target`` are
    case-insensitive substrings of the actor's e-mail and the target's description; ``since``
    and ``until`` are UTC days, both inclusive.
    """
    events = AuditEvent.objects.all()
    actions = [value.strip() for value in action.split(",") if value.strip()]
    if actions:
        events = events.filter(action__in=actions)
    if actor:
        events = events.filter(actor_email__icontains=actor)
    if target:
        events = events.filter(target_repr__icontains=target)
    if since is not None:
        events = events.filter(created_at__gte=_start_of_day(since))
    if until is not None and until < dt.date.max:  # the calendar's last day has no day after it: no bound
        events = events.filter(created_at__lt=_start_of_day(until + dt.timedelta(days=1)))
    return events.order_by("-created_at", "-id")


def audit_actions() -> list[tuple[str, str]]:
    """The distinct actions recorded in this org and their readable names, for the page's filter."""
    codes = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    return sorted(((code, audit_action_label(code)) for code in codes), key=lambda pair: pair[1])


def audit_event_rows(events: QuerySet[AuditEvent], *, chunk_size: int = 2000) -> Iterator[AuditEvent]:
    """Streams ``events`` from a server-side cursor, so an export's memory stays flat."""
    return events.iterator(chunk_size=chunk_size)


def _start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
