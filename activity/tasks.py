"""Celery tasks of the activity app. Thin: they call services."""

from celery import shared_task


@shared_task(name="activity.tasks.refresh_all_organizations")
def refresh_all_organizations():
    """Fans out one aggregate refresh per organization (filled in by the aggregates work)."""
    return 0
