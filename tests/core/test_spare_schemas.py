"""Spare org schemas: a new org takes one (renamed) in its creation's transaction, each spare goes
to one org only, a failed creation gives it back, a spare behind the migrations is never handed out
and is dropped, the pool is refilled by a worker, and no spare is ever seen as an org."""

import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.test import Client
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context

from accounts.models import Role
from accounts.services import membership_add, user_get_or_create
from activity.dispatch import refresh_round
from orgdash.core.changes import CHANGED_KEY
from orgdash.core.models import Domain, Organization, SpareSchema
from orgdash.core.schemas import schema_is_current, template_schema_ensure
from orgdash.core.selectors import organizations_overview
from orgdash.core.services import organization_create, public_tenant_ensure
from orgdash.core.spare_schemas import spare_schemas_refill
from tests.conftest import PASSWORD, celery_worker, django_process_env


def _schema_oid(schema: str) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regnamespace(%s)::oid", [schema])
        return cursor.fetchone()[0]


def _spares() -> dict[str, int]:
    """The pool: each spare's schema name and its schema's oid (which a rename keeps)."""
    return {name: _schema_oid(name) for name in SpareSchema.objects.values_list("schema_name", flat=True)}


def _make_behind(schema: str) -> None:
    """As after a deploy that brought a new migration: the schema has not applied it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{schema}".django_migrations WHERE id = (SELECT max(id) FROM "{schema}".django_migrations)'
        )


@pytest.fixture
def pool(committed, settings):
    """An empty pool before and after the test, and the orgs the test names removed afterwards."""
    template_schema_ensure()

    def empty():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            for name in SpareSchema.objects.values_list("schema_name", flat=True):
                cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        SpareSchema.objects.all().delete()

    empty()
    slugs: list[str] = []
    yield slugs
    settings.ORGDASH_SPARE_SCHEMAS = 0
    empty()
    with connection.cursor() as cursor:
        for organization in Organization.objects.filter(slug__in=slugs):
            cursor.execute(f'DROP SCHEMA IF EXISTS "{organization.schema_name}" CASCADE')
            get_redis_connection("default").zrem(CHANGED_KEY, organization.schema_name)
            organization.domains.all().delete()
            organization.delete()


def _slug(pool: list[str], prefix: str) -> str:
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    pool.append(slug)
    return slug


def test_an_org_takes_a_spare_and_a_worker_refills_the_pool(pool, settings):
    settings.ORGDASH_SPARE_SCHEMAS = 2
    assert spare_schemas_refill() == 2
    before = _spares()
    assert len(before) == 2 and all(name.startswith("_spare_") for name in before)

    with celery_worker("spare-schemas", ORGDASH_TEST_SPARE_SCHEMAS="2"):
        organization = organization_create(slug=_slug(pool, "spared"), name="Spared")
        assert _schema_oid(organization.schema_name) in before.values(), "the org's schema is a spare, renamed"
        deadline = time.monotonic() + 60
        while len(_spares()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    after = _spares()
    assert len(after) == 2, "the worker brought the pool back to its size"
    assert len(set(after) - set(before)) == 1 and all(schema_is_current(name) for name in after)

    # The org works like any other: its admin can log in on its host.
    user, _ = user_get_or_create(email=f"admin@{organization.slug}.test", password=PASSWORD, name="Spared Admin")
    with tenant_context(organization):
        membership_add(user=user, role=Role.ADMIN)
    client = Client(HTTP_HOST=f"{organization.slug}.{settings.ORGDASH_BASE_DOMAIN}")
    response = client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/v1/users/").json()["count"] == 1


def test_concurrent_creations_never_share_a_spare(pool, settings):
    settings.ORGDASH_SPARE_SCHEMAS = 3
    assert spare_schemas_refill() == 3
    spare_oids = set(_spares().values())
    settings.ORGDASH_SPARE_SCHEMAS = 0  # no refill meanwhile: the three spares are all there is

    slugs = [_slug(pool, f"rush{i}") for i in range(5)]
    start = threading.Barrier(len(slugs))
    errors: list[BaseException] = []

    def create(slug: str) -> None:
        try:  # each thread on a connection of its own
            start.wait()
            organization_create(slug=slug, name=slug)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(slug,)) for slug in slugs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []

    organizations = list(Organization.objects.filter(slug__in=slugs))
    assert len(organizations) == 5
    oids = [_schema_oid(organization.schema_name) for organization in organizations]
    assert len(set(oids)) == 5
    assert len(spare_oids & set(oids)) == 3, "each spare went to exactly one org; two orgs copied the template"
    assert _spares() == {}
    assert all(schema_is_current(organization.schema_name) for organization in organizations)
    for organization in organizations:
        assert organization.domains.filter(is_primary=True).count() == 1


def test_a_failed_creation_leaves_no_org_and_gives_the_spare_back(pool, settings):
    settings.ORGDASH_SPARE_SCHEMAS = 1
    spare_schemas_refill()
    before = _spares()
    slug = _slug(pool, "clash")
    # The org's host is already taken: its domain row fails after the spare was renamed.
    taken = Domain.objects.create(
        domain=f"{slug}.{settings.ORGDASH_BASE_DOMAIN}", tenant=public_tenant_ensure(), is_primary=False
    )
    try:
        with pytest.raises(IntegrityError):
            organization_create(slug=slug, name="Clash")
    finally:
        taken.delete()
    assert not Organization.objects.filter(slug=slug).exists()
    assert _schema_oid(slug.replace("-", "_")) is None
    assert _spares() == before, "the spare is in the pool again, under its own name"


def test_a_spare_behind_the_migrations_is_not_used_and_is_dropped(pool, settings, capsys):
    settings.ORGDASH_SPARE_SCHEMAS = 1
    spare_schemas_refill()
    ((stale, stale_oid),) = _spares().items()
    _make_behind(stale)

    organization = organization_create(slug=_slug(pool, "after-deploy"), name="After deploy")
    assert _schema_oid(organization.schema_name) != stale_oid, "the org copied the template instead"
    assert schema_is_current(organization.schema_name)

    assert spare_schemas_refill() == 1, "the refill dropped the stale spare and made a current one"
    ((fresh, _),) = _spares().items()
    assert _schema_oid(stale) is None and fresh != stale and schema_is_current(fresh)

    # migrate_schemas over every org, run as `make migrate` runs it (its own process, whose executor
    # forks workers), drops spares behind the migrations; setup_instance refills.
    _make_behind(fresh)
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate_schemas", "--tenant", "--executor=multiprocessing", "--noinput"],
        cwd=django_settings.BASE_DIR,
        env=django_process_env({}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    assert "1 spare org schemas behind the migrations dropped" in migrated.stdout
    assert _spares() == {} and _schema_oid(fresh) is None
    call_command("setup_instance")
    assert "spare org schemas: 1 ready (1 made now)" in capsys.readouterr().out
    assert len(_spares()) == 1


def test_a_spare_is_never_seen_as_an_org(pool, settings):
    settings.ORGDASH_SPARE_SCHEMAS = 1
    spare_schemas_refill()
    ((spare, _),) = _spares().items()
    staff = Client(HTTP_HOST=settings.ORGDASH_BASE_DOMAIN)
    staff.post("/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD})
    for path in ["/admin/core/organization/", "/admin/core/organization/overview/"]:
        response = staff.get(path)
        assert response.status_code == 200 and "spare" not in response.content.decode()
    assert spare not in {organization.schema_name for organization in organizations_overview()}
    assert spare not in {target.schema_name for target in refresh_round()}
