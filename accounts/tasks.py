"""Celery tasks of the accounts app. Thin: they render and send, and record the outcome."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.audit_services import audit_record
from accounts.models import INVITE_SEND_RETRIES, AuditAction, Invite
from accounts.password_selectors import reset_recipient
from accounts.services import hash_token, invite_record_delivery
from accounts.tokens import password_reset_token
from orgdash.core.services import organization_url

logger = logging.getLogger(__name__)


def invite_link(organization, token: str) -> str:
    return f"{organization_url(organization)}invite/{token}/"


def _render_invite_email(invite: Invite, token: str) -> EmailMultiAlternatives:
    organization = connection.tenant
    membership = invite.membership
    context = {
        "organization": organization,
        "invite_url": invite_link(organization, token),
        "email": membership.email,
        "role": membership.get_role_display(),
        "invited_by": membership.invited_by_email,
        "expires_at": invite.expires_at,
    }
    subject = render_to_string("emails/invite_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/invite.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[membership.email],
    )
    message.attach_alternative(render_to_string("emails/invite.html", context), "text/html")
    return message


@shared_task(bind=True, name="accounts.tasks.send_invite_email", max_retries=INVITE_SEND_RETRIES, acks_late=True)
def send_invite_email(self, *, invite_id: int, token: str) -> str:
    """Sends the invite e-mail (runs in the org's schema). Retries with exponential backoff; each
    attempt is counted on the Invite, with the last error, so admins can see a failing address."""
    invite = Invite.objects.select_related("membership").filter(pk=invite_id).first()
    if invite is None:
        return "cancelled"
    if invite.token_hash != hash_token(token):
        return "superseded"  # resent since: this link is dead, do not mail it
    try:
        _render_invite_email(invite, token).send()
    except Exception as exc:  # any transport error: record it and retry
        logger.warning("invite e-mail %s to %s failed: %s", invite_id, invite.membership.email, exc)
        invite_record_delivery(invite_id=invite_id, error=f"{type(exc).__name__}: {exc}")
        backoff = settings.ORGDASH_INVITE_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(exc=exc, countdown=min(backoff, 3600))
    invite_record_delivery(invite_id=invite_id)
    return "sent"


def password_reset_link(organization, uid: str, token: str) -> str:
    return f"{organization_url(organization)}accounts/password/reset/{uid}/{token}/"


@shared_task(bind=True, name="accounts.tasks.send_password_reset_email", max_retries=3, acks_late=True)
def send_password_reset_email(self, *, email: str, ip_address: str | None = None) -> str:
    """Sends a password reset e-mail (runs in the org's schema) when ``email`` is a joined member
    who may reset; anyone else gets nothing. The link is made here, so it is fresh on each retry."""
    membership = reset_recipient(email=email)
    if membership is None:
        return "not a member"
    user = membership.user
    organization = connection.tenant
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    context = {
        "organization": organization,
        "reset_url": password_reset_link(organization, uid, password_reset_token.make_token(user)),
        "name": user.name or user.email,
        "email": user.email,
        "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
    }
    message = EmailMultiAlternatives(
        subject=render_to_string("emails/password_reset_subject.txt", context).strip(),
        body=render_to_string("emails/password_reset.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach_alternative(render_to_string("emails/password_reset.html", context), "text/html")
    if self.request.retries == 0:
        audit_record(action=AuditAction.PASSWORD_RESET_REQUEST, actor=user, target=membership, ip_address=ip_address)
    try:
        message.send()
    except Exception as exc:  # any transport error: try again a little later
        logger.warning("password reset e-mail to %s failed: %s", user.email, exc)
        raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 600))
    return "sent"
