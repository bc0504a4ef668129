"""Log-in protection: failed log-ins lock the account they target from the address they come from,
in one org, for a cool-off; an address failing very often in an org is slowed (429); password
reset requests are limited per address and org.

Every key holds the org's schema, so guessing at one org never blocks another, and the account
lock holds the address, so guessing from one address never blocks the owner at another. Attempts
refused during a block are not counted against that block: it ends on time however long the
guessing goes on.

The counters live in PostgreSQL (``LoginThrottle``), not Redis: a log-in reads the database anyway
and then hashes a password, so one indexed row costs nothing next to it, and a lock survives a Redis
restart or outage instead of failing open (or failing everyone). Each count is one row locked with
``SELECT ... FOR UPDATE``, so concurrent failures are never lost.

Wiring: ``LoginProtectionBackend`` (first in ``AUTHENTICATION_BACKENDS``) refuses a blocked attempt
before any password is hashed; Django's ``user_login_failed`` and ``user_logged_in`` signals count
and clear; ``LoginProtectionMiddleware`` turns a refusal into the locked-out page (429 with
``Retry-After``) on every log-in form, the org's and Django admin's.
"""

import datetime as dt
import logging
import math
import random
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone

from accounts.audit_services import audit_record
from accounts.models import AuditAction, Membership, SystemActor
from orgdash.core.client_address import client_ip
from orgdash.core.models import LoginThrottle

logger = logging.getLogger(__name__)

Scope = LoginThrottle.Scope
LOCK_AUDIT_ACTION = {Scope.ACCOUNT: AuditAction.LOGIN_LOCKED, Scope.ADDRESS: AuditAction.LOGIN_ADDRESS_SLOWED}
# Rows whose window and block both ended this long ago are deleted now and then.
STALE_AFTER = dt.timedelta(days=1)
PURGE_ONE_IN = 200


@dataclass(frozen=True)
class Block:
    scope: str
    until: dt.datetime

    def seconds_left(self, now: dt.datetime | None = None) -> int:
        return max(1, math.ceil((self.until - (now or timezone.now())).total_seconds()))


class LoginBlocked(PermissionDenied):
    def __init__(self, block: Block):
        super().__init__(block.scope)
        self.block = block


def cooloff() -> dt.timedelta:
    return dt.timedelta(minutes=settings.ORGDASH_LOGIN_COOLOFF_MINUTES)


def _limit(scope: str) -> int:
    return {
        Scope.ACCOUNT: settings.ORGDASH_LOGIN_FAILURE_LIMIT,
        Scope.ADDRESS: settings.ORGDASH_LOGIN_ADDRESS_FAILURE_LIMIT,
        Scope.RESET: settings.ORGDASH_PASSWORD_RESET_LIMIT,
    }[scope]


def _key(*, schema_name: str, scope: str, address: str | None, account: str = "") -> dict:
    return {"schema_name": schema_name, "scope": scope, "account": account.strip().lower(), "address": address or ""}


# --- selectors ------------------------------------------------------------------------------


def login_block(*, schema_name: str, account: str, address: str | None) -> Block | None:
    """The block in force for a log-in to ``account`` from ``address`` in the org, if any: the
    address's first (it covers every account), then the account's from this address."""
    now = timezone.now()
    rows = LoginThrottle.objects.filter(schema_name=schema_name, blocked_until__gt=now, address=address or "").filter(
        scope__in=[Scope.ADDRESS, Scope.ACCOUNT], account__in=["", account.strip().lower()]
    )
    blocks = {row.scope: Block(scope=row.scope, until=row.blocked_until) for row in rows}
    return blocks.get(Scope.ADDRESS) or blocks.get(Scope.ACCOUNT)


# --- services -------------------------------------------------------------------------------


def _count(*, key: dict, now: dt.datetime) -> tuple[Block | None, Block | None]:
    """Counts one event on ``key``. Returns (the block that refused it, uncounted; the block it started)."""
    window = cooloff()
    with transaction.atomic():
        row, _ = LoginThrottle.objects.select_for_update().get_or_create(
            **key, defaults={"window_started_at": now, "failures": 0}
        )
        if row.blocked_until is not None and row.blocked_until > now:
            return Block(scope=row.scope, until=row.blocked_until), None
        if row.blocked_until is not None or row.window_started_at + window <= now:
            row.window_started_at, row.failures, row.blocked_until = now, 0, None
        row.failures += 1
        started = None
        if row.failures >= _limit(row.scope):
            row.blocked_until = now + window
            started = Block(scope=row.scope, until=row.blocked_until)
        row.save(update_fields=["window_started_at", "failures", "blocked_until"])
    return None, started


def login_failure_record(
    *, schema_name: str, account: str, address: str | None, refused_by: Block | None = None
) -> Block | None:
    """Counts a failed log-in; returns the block it started, if any. An attempt the address's block
    refused counts for nothing; one an account lock refused still counts for the address (that is
    what a noisy address does), never for the lock."""
    now = timezone.now()
    started = None
    if refused_by is None or refused_by.scope == Scope.ACCOUNT:
        _, started = _count(key=_key(schema_name=schema_name, scope=Scope.ADDRESS, address=address), now=now)
    if refused_by is None and account.strip():
        _, account_block = _count(
            key=_key(schema_name=schema_name, scope=Scope.ACCOUNT, address=address, account=account), now=now
        )
        started = started or account_block
    if started is not None:
        _audit_block(schema_name=schema_name, block=started, account=account, address=address)
    if random.randrange(PURGE_ONE_IN) == 0:
        stale_throttles_purge()
    return started


def login_success_record(*, schema_name: str, account: str, address: str | None) -> None:
    """A successful log-in forgets the account's failures from that address."""
    LoginThrottle.objects.filter(
        **_key(schema_name=schema_name, scope=Scope.ACCOUNT, address=address, account=account)
    ).delete()


def account_unlock(*, schema_name: str, account: str) -> int:
    """Lifts every lock of ``account`` in the org (from any address): its owner proved who they are."""
    deleted, _ = LoginThrottle.objects.filter(
        schema_name=schema_name, scope=Scope.ACCOUNT, account=account.strip().lower()
    ).delete()
    return deleted


@transaction.atomic
def account_unlock_by_staff(*, membership: Membership, actor, ip_address: str | None = None) -> int:
    """Support lifts the locks on a person's log-in in the current org (its owner could also reset
    their password, which does the same); audited when there was one to lift. A slow-down of the
    address the guessing came from is not lifted: it is the address's, not the person's."""
    accounts = {membership.email.lower()}
    if membership.user_id is not None:
        accounts.add(membership.user.email.lower())
    # Only a lock in force counts as lifted (a few mistyped passwords are forgotten all the same).
    locked = LoginThrottle.objects.filter(
        schema_name=connection.schema_name, scope=Scope.ACCOUNT, account__in=accounts, blocked_until__gt=timezone.now()
    ).count()
    for account in accounts:
        account_unlock(schema_name=connection.schema_name, account=account)
    if locked:
        audit_record(action=AuditAction.LOGIN_UNLOCKED, actor=actor, target=membership, ip_address=ip_address)
    return locked


def password_reset_request_record(*, schema_name: str, address: str | None) -> Block | None:
    """Counts a password reset request from ``address``; returns the block refusing it, if any."""
    refused, _ = _count(key=_key(schema_name=schema_name, scope=Scope.RESET, address=address), now=timezone.now())
    return refused


def stale_throttles_purge() -> int:
    threshold = timezone.now() - STALE_AFTER
    deleted, _ = (
        LoginThrottle.objects.filter(window_started_at__lt=threshold - cooloff())
        .exclude(blocked_until__gte=threshold)
        .delete()
    )
    return deleted


def _audit_block(*, schema_name: str, block: Block, account: str, address: str | None) -> None:
    if schema_name == "public" or block.scope not in LOCK_AUDIT_ACTION:
        return  # Django admin on the public host: no org to audit in
    target = Membership.objects.filter(email__iexact=account).first() if block.scope == Scope.ACCOUNT else None
    audit_record(
        action=LOCK_AUDIT_ACTION[block.scope],
        actor=SystemActor.POLICY,
        target=target,
        ip_address=address,
        account=account if block.scope == Scope.ACCOUNT else "",
        until=block.until.isoformat(),
    )


# --- wiring into Django's authentication -----------------------------------------------------


def attempt_account(request, credentials: dict | None) -> str:
    """The account a log-in attempt names (the org log-in posts ``email``, Django admin ``username``)."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if not value and request is not None and request.method == "POST":
        value = request.POST.get("email") or request.POST.get("username")
    return (value or "").strip().lower()


class LoginProtectionBackend:
    """Refuses a blocked attempt before any backend checks (and hashes) a password. It has no
    ``get_user``: it never signs anyone in, so sessions (and ``force_login``) use the next backend."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        if request is None:
            return None
        account = (email or username or "").strip().lower()
        block = login_block(schema_name=connection.schema_name, account=account, address=client_ip(request))
        if block is not None:
            request.orgdash_login_block = block
            raise LoginBlocked(block)  # Django stops at PermissionDenied and reports a failed log-in
        return None


@receiver(user_login_failed, dispatch_uid="orgdash-login-protection-failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    started = login_failure_record(
        schema_name=connection.schema_name,
        account=attempt_account(request, credentials),
        address=client_ip(request),
        refused_by=getattr(request, "orgdash_login_block", None),
    )
    if started is not None and getattr(request, "orgdash_login_block", None) is None:
        request.orgdash_login_block = started  # this failure started a block: say so at once


@receiver(user_logged_in, dispatch_uid="orgdash-login-protection-succeeded")
def _on_logged_in(sender, request, user, **kwargs):
    if request is None:
        return
    login_success_record(schema_name=connection.schema_name, account=user.email, address=client_ip(request))


def blocked_response(request, block: Block):
    """The locked-out page: what is blocked, for how long, and the way out (password reset)."""
    seconds = block.seconds_left()
    context = {
        "scope": block.scope,
        "minutes": math.ceil(seconds / 60),
        "until": block.until,
        "reset_url": None if connection.schema_name == "public" else "/accounts/password/reset/",
    }
    response = render(request, "errors/locked_out.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


class LoginProtectionMiddleware:
    """Answers a refused or blocking log-in attempt with the locked-out page, whatever form sent it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        block = getattr(request, "orgdash_login_block", None)
        if block is not None and getattr(request, "user", None) is not None and not request.user.is_authenticated:
            return blocked_response(request, block)
        return response
