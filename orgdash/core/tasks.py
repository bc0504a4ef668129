"""Celery tasks of the shared core. Thin: they call the core's services."""

from celery import shared_task

from orgdash.core.spare_schemas import spare_schemas_refill


@shared_task(name="orgdash.core.tasks.refill_spare_schemas")
def refill_spare_schemas() -> int:
    """Tops the pool of spare org schemas up (queued after each org created, and by beat);
    returns how many spares it made."""
    return spare_schemas_refill()
