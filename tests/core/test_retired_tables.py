"""An instance upgraded from the release that used django-axes loses axes' tables and records."""

from django.core.management import call_command
from django.db import connection


def _public_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {name for (name,) in cursor.fetchall()}


def test_upgrading_drops_the_retired_login_lockout_tables(db):
    connection.set_schema_to_public()
    call_command("migrate_schemas", "core", "0003", shared=True, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE axes_accessattempt (id bigserial PRIMARY KEY, username text)")
        cursor.execute("CREATE TABLE axes_accesslog (id bigserial PRIMARY KEY)")
        cursor.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('axes', '0001_initial', now())")
    assert {"axes_accessattempt", "axes_accesslog"} <= _public_tables()

    call_command("migrate_schemas", "core", shared=True, verbosity=0)

    assert not {name for name in _public_tables() if name.startswith("axes_")}
    assert "core_loginthrottle" in _public_tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'axes'")
        assert cursor.fetchone() == (0,)
