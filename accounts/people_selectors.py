"""Reads for one person's page and for one's own profile."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.models import ApiKey, AuditEvent, Membership

PERSON_AUDIT_LIMIT = 100


def person_audit_history(*, membership: Membership, limit: int = PERSON_AUDIT_LIMIT) -> list[AuditEvent]:
    """What was done to the person (invited, joined, role changes, deactivations, keys), newest
    first."""
    return list(
        AuditEvent.objects.filter(target_membership=membership)
        .exclude(action="users.export")
        .order_by("-created_at", "-id")[:limit]
    )


def person_api_keys(*, membership: Membership) -> QuerySet[ApiKey]:
    """The person's keys in this org, live ones first; never the secret (only its hash is stored)."""
    return (
        ApiKey.objects.filter(membership=membership)
        .only("id", "label", "prefix", "created_at", "last_used_at", "revoked_at")
        .order_by("revoked_at", "-created_at", "-id")
    )


def deactivated_by_email(*, membership: Membership) -> str | None:
    if membership.deactivated_by_id is None:
        return None
    return get_user_model().objects.filter(pk=membership.deactivated_by_id).values_list("email", flat=True).first()
