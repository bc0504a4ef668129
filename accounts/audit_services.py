"""Audit rows that are not the side effect of a member change: support staff opening an org, and
downloads of the audit log itself."""

import datetime as dt
import logging

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import audit_record
from orgdash.core.client_address import client_ip

logger = logging.getLogger(__name__)

STAFF_VIEW_ACTION = "staff.view_org"
# One row per support engineer per org per hour is enough to answer "who looked, and when".
STAFF_VIEW_INTERVAL_SECONDS = 3600


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
        if AuditEvent.objects.filter(action=STAFF_VIEW_ACTION, actor=user, created_at__gte=since).exists():
            return None
    tenant = getattr(connection, "tenant", None)
    return AuditEvent.objects.create(
        actor=user,
        actor_email=user.email,
        action=STAFF_VIEW_ACTION,
        target_repr=getattr(tenant, "name", "") or connection.schema_name,
        ip_address=client_ip(request),
        data={"path": request.path[:200]},
    )


def audit_export_record(*, request, filters: dict) -> AuditEvent:
    """An admin (or support engineer) downloaded the audit log."""
    return audit_record(
        action="audit.export",
        actor=request.user,
        ip_address=client_ip(request),
        filters={key: str(value) for key, value in filters.items() if value},
    )
