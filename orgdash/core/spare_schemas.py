"""Spare org schemas: copies of the template made ahead of time, off the request path.

Copying the template is DDL (23 tables, 38 indexes, 14 foreign keys, four of them to ``core_user``,
whose lock also waits for writes to that table): 300 to 900 ms under load. Creating an org instead
takes a spare and renames it (``ALTER SCHEMA … RENAME``, a catalog update), in the creation's
transaction; the pool is refilled afterwards by a Celery task.

A spare is named ``_spare_<hex>`` (a leading underscore, so no org slug can name it) and listed in
``SpareSchema``. Its row is what makes taking one safe: ``SELECT … FOR UPDATE SKIP LOCKED`` gives
concurrent creations different spares, and the rename, the row's deletion and the org's rows commit
together or not at all. Spares are not orgs, so nothing that lists orgs (admin, overview, beat's
dispatch, ``migrate_schemas``) sees them.

A spare is only as current as the template it was copied from, and is checked the same way: one
that does not record every migration on disk is never handed out, and is dropped by the next
refill, by ``migrate_schemas`` over every org and by ``setup_instance``.
"""

from __future__ import annotations

import logging
import uuid
import zlib

from django.conf import settings
from django.db import connection, transaction

from orgdash.core.models import SpareSchema
from orgdash.core.schemas import schema_clone, schema_is_current, template_schema_ensure

logger = logging.getLogger(__name__)

SPARE_PREFIX = "_spare_"
# Session-level advisory lock key: one process refills the pool at a time.
_REFILL_LOCK = zlib.crc32(b"orgdash:spare-schemas")


def spare_schemas_wanted() -> int:
    """How many spares the pool keeps: none on a dedicated instance (one org, created once) or
    without a template."""
    if settings.ORGDASH_MODE == "dedicated" or not settings.TENANT_BASE_SCHEMA:
        return 0
    return max(settings.ORGDASH_SPARE_SCHEMAS, 0)


def spare_schemas_ready() -> int:
    return SpareSchema.objects.count()


def spare_schema_claim(*, schema_name: str) -> bool:
    """Renames a current spare to ``schema_name`` inside the caller's transaction, and returns
    whether there was one. A spare behind the migrations is left for the refill to drop."""
    if not connection.in_atomic_block:
        raise RuntimeError("a spare schema is claimed inside the transaction that creates the org")
    connection.set_schema_to_public()
    spare = SpareSchema.objects.select_for_update(skip_locked=True).order_by("pk").first()
    if spare is None:
        return False
    if not schema_is_current(spare.schema_name):
        logger.info("spare schema %s is behind the migrations; not used", spare.schema_name)
        return False
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER SCHEMA {quote(spare.schema_name)} RENAME TO {quote(schema_name)}")
    spare.delete()
    return True


def spare_schemas_discard_stale() -> int:
    """Drops the spares behind the migrations on disk (or whose schema is gone); returns how many.
    A spare being claimed meanwhile is skipped."""
    return _discard(stale_only=True)


def spare_schemas_discard_all() -> int:
    """Empties the pool (spares being claimed meanwhile excepted); returns how many it dropped."""
    return _discard(stale_only=False)


def _discard(*, stale_only: bool) -> int:
    discarded = 0
    connection.set_schema_to_public()
    for pk in SpareSchema.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            spare = SpareSchema.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if spare is None or (stale_only and schema_is_current(spare.schema_name)):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(spare.schema_name)} CASCADE")
            spare.delete()
            discarded += 1
    return discarded


def spare_schemas_refill(*, verbosity: int = 0) -> int:
    """Drops stale spares and copies the template until the pool holds ``spare_schemas_wanted()``
    spares, each in its own transaction. Returns how many it made; 0 at once when another process
    is refilling (that one tops the pool up)."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_REFILL_LOCK])
        if not cursor.fetchone()[0]:
            return 0
    try:
        spare_schemas_discard_stale()
        wanted = spare_schemas_wanted()
        made = 0
        while spare_schemas_ready() < wanted:
            template_schema_ensure(verbosity=verbosity)  # a deploy may have moved the migrations on
            schema_name = f"{SPARE_PREFIX}{uuid.uuid4().hex[:16]}"
            with transaction.atomic():
                schema_clone(schema_name=schema_name)
                SpareSchema.objects.create(schema_name=schema_name)
            made += 1
        return made
    finally:
        # Rebuilding the template runs migrate_schemas, which may have closed the connection and
        # released the lock with it.
        if connection.connection is not None and not connection.connection.closed:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_REFILL_LOCK])
