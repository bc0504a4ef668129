"""Reads on an org's members: the Users list with its status, filters, ordering and counts.

Status is derived in SQL from the membership's state and activity, against a cutoff of six
calendar months before now that is computed once in Python and passed as a parameter:

    invited                                          -> invite_pending
    deactivated                                      -> deactivated
    joined, last_active >= cutoff or added >= cutoff -> active
    joined otherwise                                 -> inactive
"""

import functools
from collections.abc import Iterable
from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import Case, Count, DateTimeField, F, Func, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Lower, Upper
from django.utils import timezone

from accounts.models import (
    ORDERABLE_COLUMNS,
    SEARCH_SEPARATOR,
    SEARCHABLE_COLUMNS,
    STATUS_ORDER,
    ApiKey,
    Membership,
    Role,
    Status,
    ordering_key,
)
from orgdash.core.models import Organization, User
from orgdash.core.prepared import prepared_fetchone

INACTIVE_AFTER = relativedelta(months=6)
DEFAULT_ORDERING = "-last_active"
# A search matching at most this many rows is paged by sorting the matches (found through the
# trigram indexes); above it, by walking the ordering's index, where matches are dense enough.
SPARSE_MATCHES = 2000
ORDERINGS = tuple(name for key in ("status", *ORDERABLE_COLUMNS) for name in (key, f"-{key}"))

USER_COLUMNS = (
    "id",
    "username",
    "name",
    "email",
    "role",
    "last_active",
    "created_at",
    "days_active",
    "invited_by_email",
    "deactivated_at",
)
# A pending invite's delivery state, read through a LEFT JOIN on the reverse one-to-one (null
# columns for members), so the list stays one query per page.
INVITE_FIELDS = (
    "invite__expires_at",
    "invite__sent_at",
    "invite__send_attempts",
    "invite__last_send_error",
)
# What the Users list reads per row: the columns, the derived status and the invite's delivery
# state (``values()`` rows).
USER_FIELDS = (*USER_COLUMNS, "status", *INVITE_FIELDS)


def inactivity_cutoff(now: datetime | None = None) -> datetime:
    """Six calendar months before ``now``: who was last active (or added) before it is inactive."""
    return (now or timezone.now()) - INACTIVE_AFTER


def _recent(cutoff: datetime) -> Q:
    return Q(last_active__gte=cutoff) | Q(created_at__gte=cutoff)


def status_condition(status: str, cutoff: datetime) -> Q:
    """The WHERE condition of one status; written on plain columns so the planner can use indexes."""
    if status == Status.INVITE_PENDING:
        return Q(state=Membership.State.INVITED)
    if status == Status.DEACTIVATED:
        return Q(state=Membership.State.DEACTIVATED)
    joined = Q(state=Membership.State.JOINED)
    if status == Status.ACTIVE:
        return joined & _recent(cutoff)
    if status == Status.INACTIVE:
        return joined & ~_recent(cutoff)  # Django's negation also counts a null last_active as not recent
    raise ValueError(f"unknown status {status!r}")


def status_expression(cutoff: datetime) -> Case:
    return Case(
        When(state=Membership.State.INVITED, then=Value(Status.INVITE_PENDING.value)),
        When(state=Membership.State.DEACTIVATED, then=Value(Status.DEACTIVATED.value)),
        When(_recent(cutoff), then=Value(Status.ACTIVE.value)),
        default=Value(Status.INACTIVE.value),
    )


def status_rank_expression(cutoff: datetime) -> Case:
    """The position of the status in STATUS_ORDER (invite_pending, active, inactive, deactivated)."""
    return Case(
        When(state=Membership.State.INVITED, then=Value(STATUS_ORDER.index(Status.INVITE_PENDING))),
        When(state=Membership.State.DEACTIVATED, then=Value(STATUS_ORDER.index(Status.DEACTIVATED))),
        When(_recent(cutoff), then=Value(STATUS_ORDER.index(Status.ACTIVE))),
        default=Value(STATUS_ORDER.index(Status.INACTIVE)),
        output_field=IntegerField(),
    )


def _unindexed(column: str, expression):
    """The same sort key written so that no index matches it (``x + 0``, ``x || ''``, ...).

    For a search with few matches, walking an ordering's index and filtering each row is far
    slower than reading the matches through the trigram indexes and sorting them, but the planner
    cannot see that (it assumes matches are spread so that 50 are found early). Ordering by an
    expression no index provides leaves it the second plan.
    """
    field = Membership._meta.get_field(column)
    if isinstance(field, DateTimeField):
        template = "(%(expressions)s + interval '0')"
    elif isinstance(field, IntegerField):
        template = "(%(expressions)s + 0)"
    else:
        template = "(%(expressions)s || '')"
    return Func(expression, template=template, output_field=field)


def _order_by(ordering: str, cutoff: datetime, *, use_index: bool = True) -> list:
    descending = ordering.startswith("-")
    key = ordering.lstrip("-")
    if key == "status":
        rank = status_rank_expression(cutoff)
        expression = rank.desc() if descending else rank.asc()
    else:
        column = ORDERABLE_COLUMNS[key]
        sort_key = ordering_key(column) if use_index else _unindexed(column, ordering_key(column))
        expression = sort_key.desc(nulls_last=True) if descending else sort_key.asc(nulls_last=True)
    return [expression, F("id").asc()]


def _search_condition(search: str) -> Q:
    if SEARCH_SEPARATOR not in search:
        # UPPER() of the term in SQL, like the column's: Python's upper() differs for some letters.
        return Q(search_text__contains=Upper(Value(search)))
    condition = Q()  # a term containing the separator: column by column, so it cannot span two
    for column in SEARCHABLE_COLUMNS:
        condition |= Q(**{f"{column}__icontains": search})
    return condition


def membership_filter(
    queryset: QuerySet,
    *,
    cutoff: datetime,
    search: str = "",
    statuses: Iterable[str] = (),
    role: str = "",
) -> QuerySet:
    if search:
        queryset = queryset.filter(_search_condition(search))
    statuses = list(dict.fromkeys(statuses))
    if statuses:
        condition = Q()
        for status in statuses:
            condition |= status_condition(status, cutoff)
        queryset = queryset.filter(condition)
    if role:
        queryset = queryset.filter(role=role)
    return queryset


def membership_list(
    *,
    search: str = "",
    statuses: Iterable[str] = (),
    role: str = "",
    ordering: str = DEFAULT_ORDERING,
    now: datetime | None = None,
    use_index: bool = True,
) -> QuerySet:
    """The Users list: memberships and pending invites with ``status``, filtered and ordered in SQL."""
    if ordering not in ORDERINGS:
        raise ValueError(f"unknown ordering {ordering!r}")
    cutoff = inactivity_cutoff(now)
    queryset = Membership.objects.only(*USER_COLUMNS).annotate(status=status_expression(cutoff))
    queryset = membership_filter(queryset, cutoff=cutoff, search=search, statuses=statuses, role=role)
    return queryset.order_by(*_order_by(ordering, cutoff, use_index=use_index))


class SearchedRows:
    """A searched Users list as ``values()`` rows, sliceable like a queryset (for Django's Paginator).

    The paginator counts first; that count (the matches, found through the trigram indexes)
    decides how the page is cut: few matches are sorted directly, many are found by walking the
    ordering's index (see ``_unindexed``).
    """

    def __init__(self, **list_arguments):
        self.list_arguments = list_arguments
        self.matches: int | None = None

    def count(self) -> int:
        self.matches = membership_list(**self.list_arguments).count()
        return self.matches

    def __getitem__(self, window: slice) -> list[dict]:
        sparse = self.matches is not None and self.matches <= SPARSE_MATCHES
        rows = membership_list(**self.list_arguments, use_index=not sparse).values(*USER_FIELDS)
        return list(rows[window])


class StatusOrderedRows:
    """The Users list ordered by status, sliceable like a queryset (for Django's Paginator).

    Sorting 100,000 rows by a CASE expression that depends on "now" cannot use an index. But within
    one status the order is by id, so a page is cut from one small query per status, each an
    index scan in id order that stops after ``offset + limit`` rows; PostgreSQL merges them
    (``UNION ALL ... ORDER BY rank, id``). The total comes from the plain filtered count.
    """

    def __init__(self, *, search: str, statuses: Iterable[str], role: str, descending: bool, now: datetime | None):
        self.cutoff = inactivity_cutoff(now)
        self.filters = {"search": search, "role": role}
        chosen = set(statuses)
        order = list(reversed(STATUS_ORDER)) if descending else list(STATUS_ORDER)
        self.statuses = [status for status in order if not chosen or status in chosen]
        self.descending = descending
        self.matches: int | None = None

    def _base(self) -> QuerySet:
        queryset = Membership.objects.only(*USER_COLUMNS)
        return membership_filter(queryset, cutoff=self.cutoff, **self.filters)

    def count(self) -> int:
        queryset = self._base()
        if len(self.statuses) < len(STATUS_ORDER):
            condition = Q()
            for status in self.statuses:
                condition |= status_condition(status, self.cutoff)
            queryset = queryset.filter(condition)
        self.matches = queryset.count()
        return self.matches

    def __getitem__(self, window: slice) -> list[dict]:
        start, stop = window.start or 0, window.stop
        if not self.statuses or (stop is not None and stop <= start):
            return []  # an empty page (no matches): Django would make the slices empty querysets
        # A search with few matches: sort them rather than walk the id index (as in SearchedRows).
        sparse = self.filters["search"] and self.matches is not None and self.matches <= SPARSE_MATCHES
        in_id_order = Func(F("id"), template="(%(expressions)s + 0)", output_field=IntegerField()) if sparse else "id"
        parts = [
            self._base()
            .filter(status_condition(status, self.cutoff))
            .annotate(status=Value(status.value), status_rank=Value(rank))
            .values(*USER_FIELDS, "status_rank")
            .order_by(in_id_order)
            for rank, status in enumerate(self.statuses)
        ]
        if len(parts) == 1:
            # One status is already in (rank, id) order, and a sliced query cannot be reordered.
            return list(parts[0][start:stop])
        # Each status contributes at most ``stop`` rows to the page; PostgreSQL merges them.
        merged = parts[0][:stop].union(*(part[:stop] for part in parts[1:]), all=True)
        return list(merged.order_by("status_rank", "id")[start:stop])


def membership_rows(
    *,
    search: str = "",
    statuses: Iterable[str] = (),
    role: str = "",
    ordering: str = DEFAULT_ORDERING,
    now: datetime | None = None,
) -> QuerySet | StatusOrderedRows | SearchedRows:
    """What the paginated Users list slices, as ``values()`` rows of USER_FIELDS: the list's
    queryset, or for the status orderings the per-status merge above, or for a search the
    count-guided rows (same rows, same order)."""
    now = now or timezone.now()  # one cutoff for the page and its count
    if ordering in ("status", "-status"):
        return StatusOrderedRows(search=search, statuses=statuses, role=role, descending=ordering == "-status", now=now)
    if search:
        return SearchedRows(search=search, statuses=statuses, role=role, ordering=ordering, now=now)
    return membership_list(search=search, statuses=statuses, role=role, ordering=ordering, now=now).values(*USER_FIELDS)


def membership_rows_reference(
    *,
    search: str = "",
    statuses: Iterable[str] = (),
    role: str = "",
    ordering: str = DEFAULT_ORDERING,
    now: datetime | None = None,
) -> QuerySet:
    """The Users list read the plain way, as ``values()`` rows of USER_FIELDS: what every fast path
    of ``membership_rows`` (and the CSV export) must return, row for row and in the same order.

    It spells out the contract with nothing clever: the status is the computed one (filtered on
    itself, not on ``status_condition``), the search is a case-insensitive substring of each
    searchable column, the whole list is sorted by the ordering's key (nulls last both ways), ties by
    id. It sorts every match, so it is for tests and checks, never for a request on a big org.
    """
    if ordering not in ORDERINGS:
        raise ValueError(f"unknown ordering {ordering!r}")
    cutoff = inactivity_cutoff(now)
    queryset = Membership.objects.annotate(status=status_expression(cutoff), status_rank=status_rank_expression(cutoff))
    if search:
        matches = Q()
        for column in SEARCHABLE_COLUMNS:
            matches |= Q(**{f"{column}__icontains": search})
        queryset = queryset.filter(matches)
    if statuses:
        queryset = queryset.filter(status__in=list(statuses))
    if role:
        queryset = queryset.filter(role=role)
    key = ordering.lstrip("-")
    sort_key = F("status_rank") if key == "status" else ordering_key(ORDERABLE_COLUMNS[key])
    sort = sort_key.desc(nulls_last=True) if ordering.startswith("-") else sort_key.asc(nulls_last=True)
    return queryset.order_by(sort, F("id").asc()).values(*USER_FIELDS)


def membership_get(*, pk: int, now: datetime | None = None) -> Membership | None:
    cutoff = inactivity_cutoff(now)
    return Membership.objects.select_related("invite").annotate(status=status_expression(cutoff)).filter(pk=pk).first()


def memberships_with_status(*, pks: Iterable[int], now: datetime | None = None) -> list[Membership]:
    cutoff = inactivity_cutoff(now)
    queryset = Membership.objects.select_related("invite").annotate(status=status_expression(cutoff))
    return list(queryset.filter(pk__in=list(pks)).order_by("id"))


def membership_status_counts(*, search: str = "", role: str = "", now: datetime | None = None) -> dict[str, int]:
    """How many rows have each status under the list's other filters (one aggregate query)."""
    cutoff = inactivity_cutoff(now)
    queryset = membership_filter(Membership.objects.all(), cutoff=cutoff, search=search, role=role)
    aggregates = {status.value: Count("id", filter=status_condition(status, cutoff)) for status in STATUS_ORDER}
    counts = queryset.aggregate(total=Count("id"), **aggregates)
    return {**{status.value: counts[status.value] for status in STATUS_ORDER}, "total": counts["total"]}


def memberships_by_email(emails: Iterable[str]) -> dict[str, Membership]:
    """Existing memberships (any state) keyed by lower-cased e-mail, matching the member's account e-mail too."""
    emails = [email.lower() for email in emails]
    found = (
        Membership.objects.select_related("user")
        .annotate(email_lower=Lower("email"))
        .filter(Q(email_lower__in=emails) | Q(user__email__in=emails))
    )
    result = {}
    for membership in found:
        result[membership.email.lower()] = membership
        if membership.user is not None:
            result[membership.user.email.lower()] = membership
    return result


def account_in_other_orgs(*, user_id: int) -> bool:
    """Whether the account has a membership (in any state) in an org other than the current one:
    then its e-mail, username and password are not this org's to change."""
    table = connection.ops.quote_name(Membership._meta.db_table)
    schemas = list(
        Organization.objects.exclude(schema_name__in=["public", connection.schema_name])
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    for start in range(0, len(schemas), 200):
        batch = schemas[start : start + 200]
        probes = " UNION ALL ".join(
            f"(SELECT 1 FROM {connection.ops.quote_name(schema)}.{table} WHERE user_id = %s LIMIT 1)"
            for schema in batch
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS ({probes})", [user_id] * len(batch))  # the schema names are quoted
            if cursor.fetchone()[0]:
                return True
    return False


def admin_count(*, exclude_pk: int | None = None) -> int:
    queryset = Membership.objects.filter(state=Membership.State.JOINED, role=Role.ADMIN)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.count()


def api_keys_of(*, membership: Membership) -> QuerySet:
    return ApiKey.objects.filter(membership=membership, revoked_at__isnull=True).order_by("-created_at", "-id")


def scim_token_current() -> ApiKey | None:
    """The org's live SCIM provisioning token (at most one), for its last use and prefix."""
    return ApiKey.objects.filter(kind=ApiKey.Kind.SCIM, revoked_at__isnull=True).order_by("-created_at", "-id").first()


# --- API-key authentication -------------------------------------------------------------------


@functools.cache
def _attnames(model) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


@functools.cache
def _live_api_key_sql() -> str:
    quote = connection.ops.quote_name
    columns = [
        f"{alias}.{quote(field.column)}"
        for alias, model in (("k", ApiKey), ("m", Membership), ("u", User))
        for field in model._meta.concrete_fields
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {quote(ApiKey._meta.db_table)} k "
        f"LEFT JOIN {quote(Membership._meta.db_table)} m ON m.id = k.membership_id "
        f"LEFT JOIN {quote(User._meta.db_table)} u ON u.id = m.user_id "
        "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
    )


def live_api_key(*, key_hash: str) -> ApiKey | None:
    """The unrevoked key with this hash, its membership and the membership's user loaded with it.
    Every API-key request runs this: the statement is written once per process, as the ORM spent
    about 1 ms of CPU building it on each call, and prepared once per connection, as PostgreSQL
    spent ≈ 0.2 ms planning it on each call, several times what it takes to run."""
    row = prepared_fetchone(_live_api_key_sql(), [key_hash])
    if row is None:
        return None
    key_names, member_names, user_names = _attnames(ApiKey), _attnames(Membership), _attnames(User)
    alias = connection.alias
    api_key = ApiKey.from_db(alias, key_names, row[: len(key_names)])
    member_values = row[len(key_names) : len(key_names) + len(member_names)]
    user_values = row[len(key_names) + len(member_names) :]
    membership = None
    if api_key.membership_id is not None:
        membership = Membership.from_db(alias, member_names, member_values)
        membership.user = User.from_db(alias, user_names, user_values) if membership.user_id is not None else None
    api_key.membership = membership
    return api_key
