"""Delivery state of hygiene e-mails: each send attempt counted, with its last error (no audit:
not an admin action), as invites have it."""

from django.db import transaction
from django.utils import timezone

from hygiene.models import DormancyWarning, UsageReportDelivery


@transaction.atomic
def dormancy_warning_record_delivery(*, warning_id: int, error: str = "") -> None:
    """Counts a send attempt of a warning e-mail and remembers its outcome."""
    warning = DormancyWarning.objects.select_for_update().filter(pk=warning_id).first()
    if warning is None:
        return
    warning.send_attempts += 1
    warning.last_send_error = error[:2000]
    if not error:
        warning.sent_at = timezone.now()
    warning.save(update_fields=["send_attempts", "last_send_error", "sent_at"])


@transaction.atomic
def usage_report_record_delivery(*, delivery_id: int, error: str = "") -> None:
    delivery = UsageReportDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        return
    delivery.send_attempts += 1
    delivery.last_send_error = error[:2000]
    if not error:
        delivery.sent_at = timezone.now()
    delivery.save(update_fields=["send_attempts", "last_send_error", "sent_at"])
