"""Password reset in an org: asking for the e-mail, and setting the new password from its link."""

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Membership
from accounts.services import audit_record
from accounts.tasks import send_password_reset_email
from accounts.tokens import password_reset_token
from orgdash.core.login_protection import account_unlock


def resettable_membership(*, user) -> Membership | None:
    """The user's membership of this org when they may use a reset link: joined (a deactivated
    member cannot reset their way back in) and allowed to log in at all."""
    if user is None or not user.is_active or not user.has_usable_password():
        return None
    return Membership.objects.filter(user=user, state=Membership.State.JOINED).first()


def password_reset_request(*, email: str, ip_address: str | None) -> bool:
    """Queues a reset e-mail (Celery, on commit) when ``email`` is a member of this org who may
    reset. Returns whether one was queued; callers answer the same either way."""
    user = get_user_model().objects.filter(email__iexact=email.strip()).first()
    membership = resettable_membership(user=user)
    if membership is None:
        return False
    token = password_reset_token.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    # The schema is captured now: the callback may run after the caller has left the tenant context.
    schema_name = connection.schema_name

    def queue():
        send_password_reset_email.apply_async(
            kwargs={"user_id": user.pk, "uid": uid, "token": token}, headers={"_schema_name": schema_name}
        )

    with transaction.atomic():
        audit_record(action="password.reset_request", actor=user, target=membership, ip_address=ip_address)
        # robust: a broker outage must not fail the request; the person can ask again.
        transaction.on_commit(queue, robust=True)
    return True


@transaction.atomic
def password_reset_complete(*, user, password: str, ip_address: str | None) -> None:
    """Sets the new password from a reset link (already validated), audits it in the org, and lifts
    the account's log-in locks here: its owner has just proved who they are."""
    user.set_password(password)
    user.save(update_fields=["password"])
    membership = Membership.objects.filter(user=user).first()
    audit_record(action="password.reset", actor=user, target=membership, ip_address=ip_address)
    account_unlock(schema_name=connection.schema_name, account=user.email)
