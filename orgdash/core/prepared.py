"""Server-side prepared statements, for the few statements every request sends.

Django binds parameters on the client, so PostgreSQL parses and plans every statement it is sent.
For a statement most requests run, planning can cost several times its execution: the API-key
lookup (three tables, one with 21 indexes) takes ≈ 0.25 ms unprepared and ≈ 0.03 ms prepared.
A prepared statement lives as long as its connection (``CONN_MAX_AGE``), and PostgreSQL parses it
again when the session's ``search_path`` (another org) or the tables it reads have changed since
its last use, so one connection serves every org correctly; a statement whose columns changed
type under it is prepared again on a new connection (``prepared_fetchone``). Like any prepared
statement it needs a connection pooler in session mode (or one that tracks them), as
``search_path`` already does.
"""

import logging
import time
from contextlib import contextmanager

import psycopg
from django.db import NotSupportedError, connection
from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor

logger = logging.getLogger(__name__)

# Where PostgreSQL refuses a prepared statement whose result columns changed type since it was
# prepared (a migration altered a column it reads), which persists for the session's life. Its
# message ("cached plan must not change result type") is translated with lc_messages; this is not.
PLAN_CHANGED_SOURCE = "RevalidateCachedQuery"
PLAN_CHANGED_WARNING_SECONDS = 60.0
_plan_changed_warned_at: float | None = None


class _PreparingCursor(ServerBindingCursor):
    """Parameters bound by the server, and every statement prepared on its first run."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Logs a prepared statement with its parameters written in, as Django logs any other
    (psycopg keeps no text of a prepared run for Django to read back)."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        if use_last_executed_query and not many:
            sql, use_last_executed_query = self.db.ops.compose_sql(sql, params), False
        return super().debug_sql(sql, params, use_last_executed_query, many)


@contextmanager
def prepared_statements_cursor():
    """A cursor like ``connection.cursor()`` (on the current org's ``search_path``, its statements
    logged and its errors Django's), whose statements are prepared once per connection."""
    with connection.cursor():  # connects, and sets the org's search_path if the session is not on it
        pass
    cursor = _PreparingCursor(connection.connection)
    wrapped = _PreparedDebugWrapper(cursor, connection) if connection.queries_logged else connection.make_cursor(cursor)
    with wrapped:
        yield wrapped


def prepared_fetchone(sql: str, params) -> tuple | None:
    """The first row of ``sql`` run as a prepared statement. When a migration has changed the type
    of a column the statement reads (``migrate_schemas`` alters one org after another while the web
    tier serves), this session's statement fails until the session forgets it: outside a
    transaction the connection is closed and the statement prepared again on a new one, so the
    request is answered; inside one the error stands, as the transaction is lost anyway."""
    try:
        return _fetchone_prepared(sql, params)
    except NotSupportedError as exc:
        if not _plan_changed(exc) or connection.in_atomic_block:
            raise
    _warn_plan_changed()
    connection.close()
    return _fetchone_prepared(sql, params)


def _plan_changed(exc: NotSupportedError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, psycopg.errors.FeatureNotSupported) and cause.diag.source_function == PLAN_CHANGED_SOURCE


def _warn_plan_changed() -> None:
    """Once a minute at most: while a migration goes through the orgs, a connection serving both
    migrated and unmigrated ones meets this at each switch."""
    global _plan_changed_warned_at
    now = time.monotonic()
    if _plan_changed_warned_at is None or now - _plan_changed_warned_at >= PLAN_CHANGED_WARNING_SECONDS:
        _plan_changed_warned_at = now
        logger.warning("a prepared statement's columns changed type (a migration); preparing it on a new connection")


def _fetchone_prepared(sql: str, params) -> tuple | None:
    with prepared_statements_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
