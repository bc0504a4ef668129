"""Celery tasks of seat hygiene. Thin: beat's daily dispatcher fans out one run per org, which
calls the services. The e-mail tasks are in ``hygiene.mail`` (the services queue them)."""

import logging

from celery import shared_task
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from hygiene import services
from orgdash.core.models import Organization

logger = logging.getLogger(__name__)

# A run still waiting in the queue after this is dropped: the next day's run covers it.
RUN_EXPIRES_SECONDS = 12 * 3600


@shared_task(name="hygiene.tasks.run_all_organizations")
def run_all_organizations() -> int:
    """Beat's daily dispatcher: queues one hygiene run per organization (each in its schema), so
    one org never holds up another. Returns how many were queued."""
    queued = 0
    for organization in list(Organization.objects.exclude(schema_name=get_public_schema_name())):
        with tenant_context(organization):
            run_organization_hygiene.apply_async(expires=RUN_EXPIRES_SECONDS)
        queued += 1
    return queued


@shared_task(name="hygiene.tasks.run_organization_hygiene", acks_late=True)
def run_organization_hygiene() -> str:
    """The dormancy policy's run of today, then the usage report if one is due (both idempotent)."""
    if connection.schema_name == get_public_schema_name():
        raise RuntimeError("run_organization_hygiene must be queued inside an organization's context")
    now = timezone.now()
    policy = services.dormancy_run(now=now)
    report = services.usage_report_schedule(now=now)
    sent = f"report {report.period_start}..{report.period_end} queued" if report else "no report due"
    return f"{connection.schema_name}: {policy.describe()}; {sent}"
