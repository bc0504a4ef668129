"""Celery tasks of the activity app. Thin: they call ``activity.dispatch`` and ``activity.services``."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from activity.dispatch import current_organization_queue, organization_refresh, refresh_queue, refresh_round
from activity.services import membership_stats_catch_up

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


# At most one catch-up is queued per org in this many seconds; it runs at the end of them, so it
# covers every batch ingested meanwhile.
CATCH_UP_DELAY_SECONDS = 5
CATCH_UP_CACHE_KEY = "activity:membership-catch-up-queued"  # the cache scopes keys by org


def queue_membership_stats_catch_up() -> bool:
    """Queues ``catch_up_membership_stats`` for the current org unless one is already waiting.
    Called after an ingestion commits. Returns whether it queued one."""
    if catch_up_membership_stats.app.conf.task_always_eager:
        catch_up_membership_stats.delay()  # runs now: there is no queue to wait in
        return True
    try:
        # The key lives exactly as long as the queued task waits: a batch that finds it set
        # committed before the task starts, so the task sees it.
        if not cache.add(CATCH_UP_CACHE_KEY, 1, timeout=CATCH_UP_DELAY_SECONDS):
            return False
        # Past beat's next round the task is redundant (the refresh catches up first): let it expire.
        expires = CATCH_UP_DELAY_SECONDS + max(settings.ORGDASH_ACTIVITY_REFRESH_SECONDS, 60)
        catch_up_membership_stats.apply_async(
            countdown=CATCH_UP_DELAY_SECONDS, expires=expires, retry=False, queue=current_organization_queue()
        )
        return True
    except Exception:  # Redis unreachable: beat's refresh catches up within a round
        logger.warning("could not queue the members' catch-up of %s", connection.schema_name, exc_info=True)
        return False


@shared_task(name="activity.tasks.catch_up_membership_stats", acks_late=True)
def catch_up_membership_stats() -> str:
    """Brings the figures of the members ingestion touched up to date, in the task's org."""
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("catch_up_membership_stats must be queued inside an organization's context")
    result = membership_stats_catch_up()
    return f"{connection.schema_name}: {result.members} members caught up, {result.updated} changed"
