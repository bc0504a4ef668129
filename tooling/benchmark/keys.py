"""API keys that drive the benchmark's and the load test's requests: made by the accounts service,
as every key is, and removed afterwards with their audit rows, so a measured org is left as found."""

from django.db.models import QuerySet

from accounts.models import ApiKey, AuditAction, AuditEvent, Membership
from accounts.services import api_key_create


def temporary_key_create(*, membership: Membership, label: str) -> tuple[ApiKey, str]:
    return api_key_create(membership=membership, label=label)


def temporary_keys_discard(api_keys: QuerySet[ApiKey]) -> None:
    """Deletes the keys and the audit rows their creation wrote (in the current org's schema)."""
    prefixes = list(api_keys.values_list("prefix", flat=True))
    AuditEvent.objects.filter(action=AuditAction.API_KEY_CREATE, data__prefix__in=prefixes).delete()
    api_keys.delete()
