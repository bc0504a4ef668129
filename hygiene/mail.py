"""The hygiene e-mails as Celery tasks: render, send, retry with exponential backoff, and record
each attempt on the warning or report delivery (like invites)."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.template.loader import render_to_string

from accounts.exports import users_csv_stream
from accounts.models import Status
from hygiene.deliveries import dormancy_warning_record_delivery, usage_report_record_delivery
from hygiene.models import DormancyWarning, UsageReportDelivery
from orgdash.core.services import organization_url

logger = logging.getLogger(__name__)

SEND_RETRIES = 5


def _backoff(retries: int) -> int:
    return min(30 * 2**retries, 3600)


def keep_access_link(organization, token: str) -> str:
    return f"{organization_url(organization)}still-here/{token}/"


def _message(*, template: str, context: dict, to: str) -> EmailMultiAlternatives:
    subject = render_to_string(f"hygiene/emails/{template}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"hygiene/emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string(f"hygiene/emails/{template}.html", context), "text/html")
    return message


@shared_task(bind=True, name="hygiene.mail.send_dormancy_warning", max_retries=SEND_RETRIES, acks_late=True)
def send_dormancy_warning(self, *, warning_id: int, token: str) -> str:
    warning = DormancyWarning.objects.select_related("membership").filter(pk=warning_id).first()
    if warning is None:
        return "gone"
    if warning.sent_at is not None:
        return "already sent"
    organization = connection.tenant
    context = {
        "organization": organization,
        "name": warning.membership.name or warning.membership.email,
        "keep_url": keep_access_link(organization, token),
        "deactivate_on": warning.deactivate_on,
        "quiet_since": warning.quiet_since,
    }
    try:
        _message(template="dormancy_warning", context=context, to=warning.membership.email).send()
    except Exception as exc:  # any transport error: record it and retry
        logger.warning("dormancy warning %s to %s failed: %s", warning_id, warning.membership.email, exc)
        dormancy_warning_record_delivery(warning_id=warning_id, error=f"{type(exc).__name__}: {exc}")
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries))
    dormancy_warning_record_delivery(warning_id=warning_id)
    return "sent"


def inactive_people_csv() -> bytes:
    """The Users tab's inactive people, exactly as ``GET users/export.csv?status=inactive``."""
    return b"".join(users_csv_stream(statuses=[Status.INACTIVE]))


@shared_task(bind=True, name="hygiene.mail.send_usage_report", max_retries=SEND_RETRIES, acks_late=True)
def send_usage_report(self, *, delivery_id: int) -> str:
    delivery = UsageReportDelivery.objects.select_related("report").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    if delivery.sent_at is not None:
        return "already sent"  # a redelivered task: the e-mail went out
    organization = connection.tenant
    report = delivery.report
    figures = report.figures
    change = figures["active_users"] - figures["previous_active_users"]
    context = {
        "organization": organization,
        "report": report,
        "figures": figures,
        "change": change,
        "change_text": f"{change:+d}" if change else "no change",
        "dashboard_url": f"{organization_url(organization)}org/dashboard/",
        "settings_url": f"{organization_url(organization)}org/dashboard/settings/",
    }
    message = _message(template="usage_report", context=context, to=delivery.email)
    message.attach(
        f"{organization.slug}-inactive-people-{report.period_end.isoformat()}.csv",
        inactive_people_csv(),
        "text/csv",
    )
    try:
        message.send()
    except Exception as exc:
        logger.warning("usage report %s to %s failed: %s", delivery_id, delivery.email, exc)
        usage_report_record_delivery(delivery_id=delivery_id, error=f"{type(exc).__name__}: {exc}")
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries))
    usage_report_record_delivery(delivery_id=delivery_id)
    return "sent"
