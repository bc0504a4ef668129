"""Org schemas made by cloning a migrated template schema instead of running every migration.

The template (``settings.TENANT_BASE_SCHEMA``, ``_template``: a leading underscore, so no org slug
can name it) is an org schema that belongs to no org. A clone copies its tables, indexes,
sequences and rows (``django_migrations``, content types) in one SQL call, about ten times faster
than migrating. A clone is only as current as its template, so ``schema_clone`` compares
the template's ``django_migrations`` with the migrations on disk and refuses when it is behind;
``template_schema_ensure`` (run by ``organization_create`` before cloning, and by
``setup_instance``) rebuilds it then, so the first org created after a deploy pays for it once.
django-tenants' own cloning (``TENANT_CREATION_FAKES_MIGRATIONS``) is not used: it
fakes every migration on the new schema afterwards, which would hide a template that is behind.
"""

from __future__ import annotations

import functools
import zlib

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema

# Session-level advisory lock key: one process brings the template up to date at a time.
_TEMPLATE_LOCK = zlib.crc32(b"orgdash:template-schema")


def template_schema_name() -> str:
    return settings.TENANT_BASE_SCHEMA


@functools.cache
def _migrations_on_disk() -> frozenset[tuple[str, str]]:
    """Every migration of the project (a migrated org schema records all of them: the router
    skips the shared apps' operations but still marks them applied). Read once per process."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def _applied_migrations(schema: str) -> set[tuple[str, str]] | None:
    """The migrations ``schema`` records as applied; None when it has no migration table."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{quote(schema)}.django_migrations"])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations")
        return set(cursor.fetchall())


def template_schema_is_current() -> bool:
    applied = _applied_migrations(template_schema_name())
    return applied is not None and _migrations_on_disk() <= applied


def template_schema_ensure(*, verbosity: int = 0) -> bool:
    """(Re)builds the template schema unless it is current. Returns whether it did."""
    if template_schema_is_current():
        return False
    schema = template_schema_name()
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK])
    try:
        if template_schema_is_current():  # another process did it while this one waited
            return False
        # Rebuilt rather than migrated forward: it holds nothing else, and a rebuild is right
        # whatever state it was left in.
        with connection.cursor() as cursor:
            quoted = connection.ops.quote_name(schema)
            cursor.execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE; CREATE SCHEMA {quoted}")
        call_command("migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=verbosity)
        connection.set_schema_to_public()
        if not template_schema_is_current():
            raise RuntimeError(f"the template schema {schema} is still behind the migrations after migrating it")
        return True
    finally:
        # migrate_schemas may have closed the connection, which released the lock with it.
        if connection.connection is not None and not connection.connection.closed:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK])


@functools.cache
def _clone_function_installed(database_name: str) -> bool:
    """Installs django-tenants' ``clone_schema`` SQL function once per process and database
    (its source is 4,000 lines; recreating it on each clone would cost a third of the clone)."""
    CloneSchema()._create_clone_schema_function()
    return True


class TemplateSchemaBehind(RuntimeError):
    pass


def schema_clone(*, schema_name: str) -> None:
    """Creates ``schema_name`` as a copy of the template schema, in the caller's transaction when
    there is one. Refuses when the template is behind the migrations (``template_schema_ensure``
    first: migrating does not belong in the caller's transaction)."""
    connection.set_schema_to_public()
    if not template_schema_is_current():
        raise TemplateSchemaBehind(f"the template schema {template_schema_name()} is behind the migrations")
    _clone_function_installed(connection.settings_dict["NAME"])
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Owners and grants: a migrated schema has the connecting role's and none, as a clone
        # without them does; copying them costs a fifth of the clone.
        cursor.execute("SELECT clone_schema(%s, %s, 'DATA', 'NOOWNER', 'NOACL')", [template_schema_name(), schema_name])
        # The clone names table-level UNIQUE constraints (and their indexes) by PostgreSQL's
        # defaults; migrations address them by their own names, so they get those back.
        cursor.execute(_RENAMED_CONSTRAINTS_SQL, {"template": template_schema_name(), "clone": schema_name})
        for table, clone_name, template_name in cursor.fetchall():
            cursor.execute(
                f"ALTER TABLE {quote(schema_name)}.{quote(table)} RENAME CONSTRAINT {quote(clone_name)}"
                f" TO {quote(template_name)}"
            )


# Constraints of the clone whose table, kind and definition match one of the template's under
# another name.
_RENAMED_CONSTRAINTS_SQL = """
WITH constraints AS (
    SELECT c.connamespace, r.relname, c.conname, c.contype, pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
    WHERE c.connamespace IN (to_regnamespace(%(template)s), to_regnamespace(%(clone)s))
      AND c.contype IN ('u', 'p', 'c', 'x')
)
SELECT clone.relname, clone.conname, template.conname
FROM constraints clone
JOIN constraints template
  ON template.connamespace = to_regnamespace(%(template)s) AND template.relname = clone.relname
 AND template.contype = clone.contype AND template.definition = clone.definition
WHERE clone.connamespace = to_regnamespace(%(clone)s) AND clone.conname <> template.conname
  AND NOT EXISTS (
      SELECT 1 FROM constraints same
      WHERE same.connamespace = clone.connamespace AND same.relname = clone.relname
        AND same.conname = template.conname
  )
"""
