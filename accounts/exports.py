"""The Users and audit-trail CSV exports.

The Users export is streamed straight from PostgreSQL's ``COPY ... TO STDOUT``.

The rows are the Users list's own query (same filters, status expression and ordering), with the
values formatted in SQL exactly as the API shows them. PostgreSQL's CSV writer does the RFC 4180
quoting; cells that a spreadsheet would run as a formula get a leading ``'``. COPY hands rows over
one by one, so memory stays flat whatever the size of the org.
"""

import datetime as dt
import json
from collections.abc import Iterator

from django.db import connection
from django.db.models import Case, F, Func, QuerySet, TextField, Value, When
from django.db.models.functions import Concat, Left
from django.db.models.lookups import In

from accounts.audit_selectors import audit_event_rows
from accounts.models import AuditEvent, Membership
from accounts.selectors import DEFAULT_ORDERING, membership_list

CSV_HEADER = "username,name,email,role,status,last_active,added,days_active,invited_by,deactivated_at"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = {"username": "username", "name": "name", "email": "email", "invited_by": "invited_by_email"}
TIME_COLUMNS = {"last_active": "last_active", "added": "created_at", "deactivated_at": "deactivated_at"}
CHUNK_BYTES = 64 * 1024
AUDIT_CSV_HEADER = ["time", "actor", "action", "target", "ip_address", "details"]


def neutralize_formula(value: str | None) -> str | None:
    """The Python twin of the SQL below (used where a single cell is written outside COPY)."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _safe_text(column: str) -> Case:
    return Case(
        When(
            In(Left(F(column), 1), list(FORMULA_PREFIXES)),
            then=Concat(Value("'"), F(column), output_field=TextField()),
        ),
        default=F(column),
        output_field=TextField(),
    )


def _utc_time(column: str) -> Func:
    # The same text as the API's times: ISO 8601 in UTC, whole seconds, "Z".
    return Func(
        F(column),
        output_field=TextField(),
        template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )


def users_csv_query(
    *, search: str = "", statuses=(), role: str = "", ordering: str = DEFAULT_ORDERING
) -> tuple[str, tuple]:
    """The ``COPY`` statement and its parameters for the filtered Users list."""
    formatted = {f"csv_{name}": _safe_text(column) for name, column in TEXT_COLUMNS.items()}
    for name in ("username", "name"):  # a pending invite has none yet, as in the API
        formatted[f"csv_{name}"] = Case(
            When(state=Membership.State.INVITED, then=Value(None, output_field=TextField())),
            default=formatted[f"csv_{name}"],
            output_field=TextField(),
        )
    formatted.update({f"csv_{name}": _utc_time(column) for name, column in TIME_COLUMNS.items()})
    queryset = membership_list(search=search, statuses=statuses, role=role, ordering=ordering).annotate(**formatted)
    columns = {
        "username": "csv_username",
        "name": "csv_name",
        "email": "csv_email",
        "role": "role",
        "status": "status",
        "last_active": "csv_last_active",
        "added": "csv_added",
        "days_active": "days_active",
        "invited_by": "csv_invited_by",
        "deactivated_at": "csv_deactivated_at",
    }
    assert ",".join(columns) == CSV_HEADER
    sql, params = queryset.values_list(*columns.values()).query.sql_with_params()
    return f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params


def users_csv_stream(
    *, search: str = "", statuses=(), role: str = "", ordering: str = DEFAULT_ORDERING
) -> Iterator[bytes]:
    """Yields the CSV file in chunks of about 64 KiB: the header line, then the rows."""
    statement, params = users_csv_query(search=search, statuses=statuses, role=role, ordering=ordering)
    tenant = connection.tenant

    def stream() -> Iterator[bytes]:
        # Iterated after the view has returned: make sure the org's schema is still the current one.
        if connection.schema_name != tenant.schema_name:
            connection.set_tenant(tenant)
        buffer = bytearray(CSV_HEADER.encode() + b"\n")
        with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
            for row in copy:
                buffer += row
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
        yield bytes(buffer)

    return stream()


def csv_filename(slug: str, day: dt.date) -> str:
    return f"{slug}-users-{day.isoformat()}.csv"


def _csv_safe(value) -> str:
    return neutralize_formula("" if value is None else str(value)) or ""


def audit_csv_rows(events: QuerySet[AuditEvent]) -> Iterator[list[str]]:
    """The cells of each audit event under ``AUDIT_CSV_HEADER``, with the Users export's formula guard."""
    for event in audit_event_rows(events):
        details = json.dumps(event.data, sort_keys=True, default=str) if event.data else ""
        yield [
            _csv_safe(event.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")),
            _csv_safe(event.actor_email),
            _csv_safe(event.action),
            _csv_safe(event.target_repr),
            _csv_safe(event.ip_address),
            _csv_safe(details),
        ]
