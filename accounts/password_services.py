"""Password reset in an org: asking for the e-mail, and setting the new password from its link."""

from django.db import connection, transaction

from accounts.audit_services import audit_record
from accounts.login_protection import account_unlock
from accounts.models import AuditAction, Membership
from orgdash.celery import queue_task


def password_reset_request(*, email: str, ip_address: str | None) -> None:
    """Queues the reset e-mail (Celery, on commit) for whoever asked. The worker decides whether
    ``email`` is a member who may reset, so the request costs the same either way: its answer and
    its timing tell nothing about who is a member."""
    schema_name = connection.schema_name  # the callback may run after the caller left the tenant

    def queue():
        queue_task(
            "accounts.tasks.send_password_reset_email",
            kwargs={"email": email.strip().lower(), "ip_address": ip_address},
            headers={"_schema_name": schema_name},
        )

    # robust: a broker outage must not fail the request; the person can ask again.
    transaction.on_commit(queue, robust=True)


@transaction.atomic
def password_reset_complete(*, user, password: str, ip_address: str | None) -> None:
    """Sets the new password from a reset link (already validated), audits it in the org, and lifts
    the account's log-in locks here: its owner has just proved who they are."""
    user.set_password(password)
    user.save(update_fields=["password"])
    membership = Membership.objects.filter(user=user).first()
    audit_record(action=AuditAction.PASSWORD_RESET, actor=user, target=membership, ip_address=ip_address)
    account_unlock(schema_name=connection.schema_name, account=user.email)
