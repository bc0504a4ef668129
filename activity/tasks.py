"""Celery tasks of the activity app. Thin: they call ``activity.aggregates`` and ``activity.services``."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, tenant_context

from activity.aggregates import refresh_activity
from activity.services import membership_stats_catch_up
from orgdash.core.models import Organization

logger = logging.getLogger(__name__)


@shared_task(name="activity.tasks.refresh_all_organizations")
def refresh_all_organizations() -> int:
    """Beat's dispatcher: queues one independent refresh per organization, so a slow org never
    holds up the others. Returns how many were queued."""
    # A refresh still waiting when the next round is queued is redundant: let it expire.
    expires = max(settings.ORGDASH_ACTIVITY_REFRESH_SECONDS * 2, 60)
    queued = 0
    for organization in list(Organization.objects.exclude(schema_name=get_public_schema_name())):
        # Queued inside the org's context, tenant-schemas-celery sends its schema with the task.
        with tenant_context(organization):
            refresh_organization_activity.apply_async(expires=expires)
        queued += 1
    return queued


@shared_task(name="activity.tasks.refresh_organization_activity", acks_late=True)
def refresh_organization_activity(full: bool = False) -> str:
    """Refreshes the aggregates of the org whose schema the task runs in. Skips (without waiting)
    when another refresh of the same org is running: that one covers the same changes or leaves
    them marked for the next round."""
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("refresh_organization_activity must be queued inside an organization's context")
    # Members' figures first, so they never lag the aggregates by more than one round.
    caught_up = membership_stats_catch_up()
    result = refresh_activity(full=full)
    return f"{connection.schema_name}: {caught_up.members} members caught up; {result.describe()}"


@shared_task(name="activity.tasks.catch_up_membership_stats", acks_late=True)
def catch_up_membership_stats() -> str:
    """Brings the figures of the members ingestion touched up to date, in the task's org."""
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("catch_up_membership_stats must be queued inside an organization's context")
    result = membership_stats_catch_up()
    return f"{connection.schema_name}: {result.members} members caught up, {result.updated} changed"
