from django.db import migrations


class Migration(migrations.Migration):
    """Adding the stored search column rewrote the table, which empties its visibility map and
    statistics: until autovacuum happens by, the Users list's exact count would read the whole heap
    and the planner would guess about ``search_text``. VACUUM cannot run in a transaction."""

    atomic = False

    dependencies = [
        ("accounts", "0006_membership_search_text"),
    ]

    operations = [
        migrations.RunSQL("VACUUM (ANALYZE) accounts_membership", reverse_sql=migrations.RunSQL.noop),
    ]
