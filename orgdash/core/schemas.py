"""Org schemas made by copying a migrated template schema instead of running every migration.

The template (``settings.TENANT_BASE_SCHEMA``, ``_template``: a leading underscore, so no org slug
can name it) is an org schema that belongs to no org. A copy has its tables, indexes, constraints,
sequences and rows (``django_migrations``, content types). It is made by replaying the template's
creation script (``pg_dump`` of the template, made when the template is built; one round trip,
whatever the number of orgs), or without a usable pg_dump by django-tenants' ``clone_schema`` SQL
function (whose cost grows with the catalog, i.e. with every org).

A copy is only as current as its template, so ``schema_clone`` compares the template's
``django_migrations`` with the migrations on disk and refuses when it is behind;
``template_schema_ensure`` (run by ``organization_create`` before copying, and by
``setup_instance``) rebuilds it then, so the first org created after a deploy pays for it once.
django-tenants' own cloning (``TENANT_CREATION_FAKES_MIGRATIONS``) is not used: it fakes every
migration on the new schema afterwards, which would hide a template that is behind.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
import zlib

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema

logger = logging.getLogger(__name__)

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


def schema_is_current(schema_name: str) -> bool:
    """Whether ``schema_name`` records every migration on disk as applied."""
    applied = _applied_migrations(schema_name)
    return applied is not None and _migrations_on_disk() <= applied


def template_schema_is_current() -> bool:
    return schema_is_current(template_schema_name())


def template_schema_ensure(*, verbosity: int = 0) -> bool:
    """(Re)builds the template schema unless it is current, and its creation script unless it has
    one. Returns whether it rebuilt the template."""
    if template_schema_is_current():
        if template_script() is None:
            template_script_store()
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
        template_script_store()
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
    quote = connection.ops.quote_name
    script = template_script()
    with connection.cursor() as cursor:
        if script is not None:
            # One round trip: the template's structure and rows, every name qualified.
            cursor.execute(f"CREATE SCHEMA {quote(schema_name)};\n" + script.replace(_PLACEHOLDER, quote(schema_name)))
            return
        # No script (no pg_dump here): django-tenants' clone function, which walks the catalog.
        _clone_function_installed(connection.settings_dict["NAME"])
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
        # Nor does it copy tables' storage parameters (a fillfactor): set them as the template's.
        cursor.execute(_STORAGE_PARAMETERS_SQL, {"template": template_schema_name()})
        for table, parameters in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {quote(schema_name)}.{quote(table)} SET ({parameters})")


_STORAGE_PARAMETERS_SQL = """
SELECT c.relname, array_to_string(c.reloptions, ', ')
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(template)s AND c.relkind = 'r' AND c.reloptions IS NOT NULL
"""


# --- The template's creation script ----------------------------------------------------------
# pg_dump of the template (structure, and its few rows: migrations, content types, sequence
# positions) with every ``_template.`` qualifier replaced by a placeholder. It is kept as the
# template schema's comment, so it lives and dies with the template: a rebuilt template gets a new
# one. Replaying it costs the same however many orgs exist, where ``clone_schema`` walks catalog
# views whose size grows with every org (measured: 0.3 s at 10 orgs, 3.5 s at 700).

_PLACEHOLDER = "__orgdash_new_schema__"
_PG_DUMP_TIMEOUT_SECONDS = 300


def _pg_dump_executable() -> str | None:
    return settings.ORGDASH_PG_DUMP or shutil.which("pg_dump")


def _template_dump() -> str | None:
    executable = _pg_dump_executable()
    if executable is None:
        return None
    db = connection.settings_dict
    command = [executable, "--schema", template_schema_name(), "--no-owner", "--no-acl", "--inserts",
               "--dbname", db["NAME"], "--username", db["USER"] or "postgres"]  # fmt: skip
    # The host may come as HOST or, for a Unix socket named in DATABASE_URL's query, as OPTIONS["host"].
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host")
    if host:
        command += ["--host", host]
    if db.get("PORT"):
        command += ["--port", str(db["PORT"])]
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    try:
        # The command is built from settings only (no user input).
        return subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, check=True, timeout=_PG_DUMP_TIMEOUT_SECONDS
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("no creation script for the template schema (pg_dump failed: %s); cloning instead", exc)
        return None


def _script_of(dump: str) -> str:
    """The dump as statements for any schema: no psql meta-commands, session settings or CREATE
    SCHEMA of its own, and the placeholder for the schema's name."""
    schema = template_schema_name()
    qualifier = re.compile(r"(?<![\w\"])" + re.escape(schema) + r"\.")
    kept = []
    for line in dump.splitlines():
        if line.startswith(("\\", "SET ", "SELECT pg_catalog.set_config(", "--")):
            continue
        if line.strip() == f"CREATE SCHEMA {schema};":
            continue
        kept.append(qualifier.sub(_PLACEHOLDER + ".", line))
    return "\n".join(kept)


def template_script() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regnamespace(%s), 'pg_namespace')", [template_schema_name()])
        row = cursor.fetchone()
    return row[0] if row and row[0] and _PLACEHOLDER in row[0] else None


def template_script_store() -> bool:
    """Dumps the template and keeps its creation script. Returns whether there is one now."""
    dump = _template_dump()
    if not dump:
        return False
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            f"COMMENT ON SCHEMA {connection.ops.quote_name(template_schema_name())} IS %s", [_script_of(dump)]
        )
    return True


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
