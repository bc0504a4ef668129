"""The one writer of the org's audit trail, and the audit rows that are not the side effect of a
member change: support staff opening an org, and downloads of the audit log itself.

Every service records through ``audit_record`` (one row) or ``audit_record_many`` (one row per
target, in one INSERT); both build the row the same way.
"""

import datetime as dt
import logging
from collections.abc import Iterable

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, Membership
from orgdash.core.client_address import client_ip

logger = logging.getLogger(__name__)

# One row per support engineer per org per hour is enough to answer "who looked, and when".
STAFF_VIEW_INTERVAL_SECONDS = 3600


def _audit_event(
    *,
    action: AuditAction,
    actor,
    target: Membership | None,
    target_repr: str | None,
    ip_address: str | None,
    data: dict,
    created_at: dt.datetime | None = None,
) -> AuditEvent:
    actor_email = actor if isinstance(actor, str) else (getattr(actor, "email", "") or "")
    return AuditEvent(
        created_at=created_at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_email=actor_email,
        action=action,
        target_membership=target if target is not None and target.pk else None,
        target_repr=target_repr if target_repr is not None else (target.email if target is not None else ""),
        ip_address=ip_address,
        data=data,
    )


def audit_record(
    *,
    action: AuditAction,
    actor=None,
    target: Membership | None = None,
    target_repr: str | None = None,
    ip_address: str | None = None,
    **data,
) -> AuditEvent:
    """Writes one audit row. ``actor`` is the user who acted or a ``SystemActor``, shown in the
    actor column; ``target_repr`` describes a target that is not a membership (default: its e-mail)."""
    event = _audit_event(
        action=action, actor=actor, target=target, target_repr=target_repr, ip_address=ip_address, data=data
    )
    event.save(force_insert=True)
    return event


def audit_record_many(
    *, action: AuditAction, actor, targets: Iterable[Membership], ip_address: str | None = None, **data
) -> list[AuditEvent]:
    """One audit row per target, in one INSERT: the rows ``audit_record`` would write one by one."""
    now = timezone.now()
    return AuditEvent.objects.bulk_create(
        [
            _audit_event(
                action=action,
                actor=actor,
                target=target,
                target_repr=None,
                ip_address=ip_address,
                data=data,
                created_at=now,
            )
            for target in targets
        ]
    )


def staff_view_record(*, request) -> AuditEvent | None:
    """Records that a support engineer without a membership opened this org's dashboard.

    Deduplicated through the cache (keys are per org); when the cache is down, the last hour's rows
    decide instead, so a Redis outage neither loses the trail nor writes a row per page.
    """
    user = request.user
    if not user.is_staff or getattr(user, "membership", None) is not None or connection.schema_name == "public":
        return None
    key = f"audit:staff-view:{connection.schema_name}:{user.pk}"
    try:
        if not cache.add(key, 1, STAFF_VIEW_INTERVAL_SECONDS):
            return None
    except Exception as exc:  # cache unreachable: fall back to the database
        logger.warning("audit: cache unavailable for staff view deduplication: %s", exc)
        since = timezone.now() - dt.timedelta(seconds=STAFF_VIEW_INTERVAL_SECONDS)
        if AuditEvent.objects.filter(action=AuditAction.STAFF_VIEW_ORG, actor=user, created_at__gte=since).exists():
            return None
    tenant = getattr(connection, "tenant", None)
    return audit_record(
        action=AuditAction.STAFF_VIEW_ORG,
        actor=user,
        target_repr=getattr(tenant, "name", "") or connection.schema_name,
        ip_address=client_ip(request),
        path=request.path[:200],
    )


def audit_export_record(*, request, filters: dict) -> AuditEvent:
    """An admin (or support engineer) downloaded the audit log."""
    return audit_record(
        action=AuditAction.AUDIT_EXPORT,
        actor=request.user,
        ip_address=client_ip(request),
        filters={key: str(value) for key, value in filters.items() if value},
    )
