"""Reads for one person's page and for one's own profile."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts.models import INVITE_SEND_RETRIES, ApiKey, AuditEvent, Membership

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


class InviteDelivery:
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CHOICES = [(SENDING, "Sending"), (SENT, "Sent"), (FAILED, "Failed")]


def invite_delivery(
    *, expires_at: datetime, sent_at: datetime | None, send_attempts: int, last_send_error: str, now: datetime
) -> dict:
    """The ``invite`` object of a pending invite. A successful attempt clears the error, so an error
    means the last attempt failed; a resend clears all three (back to "sending")."""
    if last_send_error:
        delivery = InviteDelivery.FAILED
    elif sent_at is not None:
        delivery = InviteDelivery.SENT
    else:
        delivery = InviteDelivery.SENDING
    return {
        "expires_at": expires_at,
        "expired": expires_at <= now,
        "delivery": delivery,
        "send_attempts": send_attempts,
        "last_error": last_send_error or None,
        # The task retries with backoff after each failure until its retries run out.
        "retrying": delivery == InviteDelivery.FAILED and send_attempts <= INVITE_SEND_RETRIES,
    }
