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


def queue_task(name: str, *, kwargs: dict | None = None, **options):
    """Queues a task by its registered name, so a service never imports the tasks module that
    calls it back. The tenant app adds the current schema to the headers, as ``apply_async`` does;
    under ``task_always_eager`` (some tests, the browser tests' server) the task runs now."""
    if app.conf.task_always_eager:
        if name not in app.tasks:
            app.loader.import_default_modules()  # the web process has not imported the tasks modules
        return app.tasks[name].apply_async(kwargs=kwargs, **options)
    return app.send_task(name, kwargs=kwargs, **options)
