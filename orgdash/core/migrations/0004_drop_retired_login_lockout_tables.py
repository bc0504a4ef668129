"""Log-in protection moved from django-axes to ``LoginThrottle`` (0002): instances that ran the
earlier release still hold axes' tables and migration records in the public schema."""

from django.db import migrations

AXES_TABLES = ("axes_accessattempt", "axes_accesslog", "axes_accessfailurelog", "axes_accessattemptexpiration")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_organization_stats")]

    operations = [
        migrations.RunSQL(
            [f"DROP TABLE IF EXISTS {table} CASCADE" for table in AXES_TABLES]
            + ["DELETE FROM django_migrations WHERE app = 'axes'"],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
