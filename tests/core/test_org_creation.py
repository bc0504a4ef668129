"""New org schemas are cloned from the migrated template schema (or are a spare cloned ahead of
time, renamed): identical to a migrated schema, refused while the template is behind the
migrations, and the template is rebuilt when it is."""

import re
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django_redis import get_redis_connection

from orgdash.core.changes import CHANGED_KEY
from orgdash.core.models import Organization, OrganizationStats, SpareSchema
from orgdash.core.schemas import (
    TemplateSchemaBehind,
    schema_clone,
    template_schema_ensure,
    template_schema_is_current,
    template_schema_name,
    template_script,
    template_script_store,
)
from orgdash.core.services import organization_create
from orgdash.core.spare_schemas import spare_schemas_refill

# Every object of a schema, described without the schema's own name.
_CATALOG = {
    "columns": """
        SELECT table_name, column_name,
               -- the column order; not the position, which a dropped column leaves a gap in
               row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position), data_type, is_nullable,
               replace(coalesce(column_default, ''), %(schema)s || '.', ''), is_identity,
               coalesce(identity_generation, ''), character_maximum_length, coalesce(collation_name, '')
        FROM information_schema.columns WHERE table_schema = %(schema)s""",
    "storage parameters and kinds": """
        SELECT relname, relkind, coalesce(reloptions::text, ''), relpersistence
        FROM pg_class WHERE relnamespace = %(schema)s::regnamespace""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname FROM pg_trigger
        WHERE NOT tgisinternal
          AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = %(schema)s::regnamespace)""",
    "tables": "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %(schema)s",
    "constraints": """
        SELECT c.conrelid::regclass::text, c.conname, c.contype,
               replace(pg_get_constraintdef(c.oid), %(schema)s || '.', '')
        FROM pg_constraint c WHERE c.connamespace = %(schema)s::regnamespace""",
    "indexes": """
        SELECT tablename, indexname, replace(indexdef, %(schema)s || '.', '')
        FROM pg_indexes WHERE schemaname = %(schema)s""",
    "sequences": """
        SELECT sequence_name, data_type, start_value, increment
        FROM information_schema.sequences WHERE sequence_schema = %(schema)s""",
    "sequence positions": """
        SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = %(schema)s""",
    "owners and privileges": """
        SELECT 'schema', nspowner = current_user::regrole, coalesce(nspacl::text, '')
        FROM pg_namespace WHERE nspname = %(schema)s
        UNION ALL
        SELECT relname, relowner = current_user::regrole, coalesce(relacl::text, '')
        FROM pg_class WHERE relnamespace = %(schema)s::regnamespace
        UNION ALL
        SELECT 'default privileges ' || defaclobjtype::text, true, defaclacl::text
        FROM pg_default_acl WHERE defaclnamespace = %(schema)s::regnamespace""",
    "migrations": "SELECT app, name FROM {schema}.django_migrations",
    "content types": "SELECT app_label, model FROM {schema}.django_content_type",
}


def _check_expression(definition: str) -> str:
    """A CHECK constraint read back from a restored dump is the same expression, printed with its
    casts placed differently (``ARRAY[('a'::varchar)::text]`` against ``(ARRAY['a'::varchar])::text[]``):
    compare it without casts, parentheses and spaces."""
    return re.sub(r"::[a-z ]+(\[\])?|[()\s]", "", definition)


def _describe(schema: str) -> dict[str, list]:
    described = {}
    with connection.cursor() as cursor:
        cursor.execute("SET search_path TO public")  # regclass text: schema-qualified for both
        for name, sql in _CATALOG.items():
            cursor.execute(sql.format(schema=connection.ops.quote_name(schema)), {"schema": schema})
            rows = [tuple(str(value).replace(f"{schema}.", "") for value in row) for row in cursor.fetchall()]
            if name == "constraints":
                rows = [(*row[:3], _check_expression(row[3]) if row[2] == "c" else row[3]) for row in rows]
            described[name] = sorted(rows)
    connection.set_schema_to_public()
    return described


def _schema_oid(schema: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace(%s)::oid", [schema])
        return cursor.fetchone()[0]


@pytest.fixture
def drop_afterwards(committed):
    schemas: list[str] = []
    yield schemas
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    SpareSchema.objects.filter(schema_name__in=schemas).delete()
    for organization in Organization.objects.filter(schema_name__in=schemas):
        get_redis_connection("default").zrem(CHANGED_KEY, organization.schema_name)
        organization.domains.all().delete()
        organization.delete()


@pytest.mark.parametrize("copied_by", ["creation script", "clone_schema", "spare schema"])
def test_a_cloned_org_schema_is_identical_to_a_migrated_one(drop_afterwards, copied_by, settings):
    template_schema_ensure()
    assert template_script() is not None, "the template has its creation script (pg_dump is available)"
    spare = None
    if copied_by == "spare schema":  # copied by the script ahead of time, then renamed
        settings.ORGDASH_SPARE_SCHEMAS = 1
        assert spare_schemas_refill() == 1
        spare = SpareSchema.objects.get()
        drop_afterwards.append(spare.schema_name)
        spare_oid = _schema_oid(spare.schema_name)
    pg_dump = settings.ORGDASH_PG_DUMP
    if copied_by == "clone_schema":  # the way without pg_dump: django-tenants' clone function
        settings.ORGDASH_PG_DUMP = "/nonexistent/pg_dump"
        with connection.cursor() as cursor:
            cursor.execute(f"COMMENT ON SCHEMA {template_schema_name()} IS NULL")
    tag = uuid.uuid4().hex[:8]
    cloned = organization_create(slug=f"cloned-{tag}", name="Cloned")
    drop_afterwards.append(cloned.schema_name)
    if spare is not None:
        assert _schema_oid(cloned.schema_name) == spare_oid, "the org has the spare's schema, renamed"
        assert _schema_oid(spare.schema_name) is None and not SpareSchema.objects.exists()
    if copied_by == "clone_schema":
        assert template_script() is None
        settings.ORGDASH_PG_DUMP = pg_dump
        assert template_script_store(), "the script is made again"
    migrated = f"migrated_{tag}"
    drop_afterwards.append(migrated)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{migrated}"')
    call_command("migrate_schemas", tenant=True, schema_name=migrated, interactive=False, verbosity=0)
    connection.set_schema_to_public()

    expected, actual = _describe(migrated), _describe(cloned.schema_name)
    assert len(expected["tables"]) > 10 and len(expected["indexes"]) > 10 and expected["migrations"]
    assert len(expected["owners and privileges"]) > 10 and expected["sequence positions"]
    differences = {
        part: (sorted(set(actual[part]) - set(expected[part])), sorted(set(expected[part]) - set(actual[part])))
        for part in _CATALOG
        if actual[part] != expected[part]
    }
    assert differences == {}, "the clone differs from a migrated schema: (only in the clone, only migrated)"
    assert OrganizationStats.objects.filter(organization=cloned, refreshed_at=None).exists()
    assert cloned.domains.filter(is_primary=True).exists()


def test_a_clone_is_refused_while_the_template_is_behind_and_the_template_is_then_rebuilt(drop_afterwards):
    template_schema_ensure()
    with connection.cursor() as cursor:
        # As after a deploy that brought a new migration: the template has not applied it.
        cursor.execute(
            f"DELETE FROM {template_schema_name()}.django_migrations"
            f" WHERE id = (SELECT max(id) FROM {template_schema_name()}.django_migrations)"
        )
    assert not template_schema_is_current()
    target = f"refused_{uuid.uuid4().hex[:8]}"
    drop_afterwards.append(target)
    with pytest.raises(TemplateSchemaBehind):
        schema_clone(schema_name=target)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace(%s)", [target])
        assert cursor.fetchone()[0] is None, "nothing was created"

    organization = organization_create(slug=f"after-deploy-{uuid.uuid4().hex[:8]}", name="After deploy")
    drop_afterwards.append(organization.schema_name)
    assert template_schema_is_current(), "creating an org rebuilt the template first"
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{organization.schema_name}".django_migrations')
        applied = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {template_schema_name()}.django_migrations")
        assert applied == cursor.fetchone()[0]


def test_setup_instance_brings_the_template_up_to_date(committed, capsys):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {template_schema_name()} CASCADE")
    call_command("setup_instance")
    assert "template schema _template migrated" in capsys.readouterr().out
    assert template_schema_is_current()
    call_command("setup_instance")
    assert "template schema _template current" in capsys.readouterr().out
