"""The Celery app. Tenant-aware: a task queued inside an org's schema runs in that schema."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orgdash.settings.development")

app = CeleryApp("orgdash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def setup_periodic_tasks(sender, **kwargs):
    from django.conf import settings

    # One dispatcher fans out to every org, so one slow org never holds up the others.
    sender.add_periodic_task(
        settings.ORGDASH_ACTIVITY_REFRESH_SECONDS,
        sender.signature("activity.tasks.refresh_all_organizations"),
        name="refresh activity aggregates of every organization",
    )
