"""Celery tasks of the activity app. Thin: they call ``activity.dispatch`` and ``activity.services``."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from activity.dispatch import organization_refresh, refresh_round
from activity.services import membership_stats_catch_up, refresh_queue

logger = logging.getLogger(__name__)


@shared_task(name="activity.tasks.refresh_all_organizations")
def refresh_all_organizations() -> int:
    """Beat's dispatcher: queues one independent refresh per org that changed (or is due for its
    daily rollover, or was never refreshed), so an idle org costs nothing and a slow org never
    holds up the others; big orgs go to their own queue. Returns how many were queued."""
    # A refresh still waiting when the next round is queued is redundant: let it expire.
    expires = max(settings.ORGDASH_ACTIVITY_REFRESH_SECONDS * 2, 60)
    targets = refresh_round()
    for target in targets:
        # Queued inside the org's schema, tenant-schemas-celery sends its schema with the task.
        with schema_context(target.schema_name):
            refresh_organization_activity.apply_async(expires=expires, queue=refresh_queue(members=target.members))
    return len(targets)


@shared_task(name="activity.tasks.refresh_organization_activity", acks_late=True)
def refresh_organization_activity(full: bool = False) -> str:
    """Refreshes the aggregates (and members' and org figures) of the org whose schema the task
    runs in. Skips (without waiting) when another refresh of the same org is running: that one
    covers the same changes or leaves them marked for the next round."""
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("refresh_organization_activity must be queued inside an organization's context")
    return organization_refresh(full=full)


@shared_task(name="activity.tasks.catch_up_membership_stats", acks_late=True)
def catch_up_membership_stats() -> str:
    """Brings the figures of the members ingestion touched up to date, in the task's org."""
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("catch_up_membership_stats must be queued inside an organization's context")
    result = membership_stats_catch_up()
    return f"{connection.schema_name}: {result.members} members caught up, {result.updated} changed"
