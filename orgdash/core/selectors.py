"""Reads of shared (public schema) data: which orgs a refresh round visits, and org figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from orgdash.core.models import Domain, Organization, OrganizationStats

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class RefreshTarget:
    schema_name: str
    members: int

    @property
    def large(self) -> bool:
        return self.members >= settings.ORGDASH_LARGE_ORG_MEMBERS


def organizations_to_refresh(*, changed: Collection[str], now: dt.datetime) -> list[RefreshTarget]:
    """The orgs one refresh round visits, in one query over the public schema: those marked as
    changed (``changed``: Redis marks; ``changed_at``: database marks), those never refreshed,
    and those whose daily window rollover is due. Rollovers are spread over the UTC day (org id
    modulo the minutes of a day), so midnight does not refresh every org at once; an org used
    since midnight has already rolled over, because using it marks it changed."""
    today = now.astimezone(dt.UTC).date()
    minute_of_day = now.astimezone(dt.UTC).hour * 60 + now.astimezone(dt.UTC).minute
    rollover_due = Q(stats__refreshed_day__lt=today, rollover_minute__lte=minute_of_day) | Q(
        stats__refreshed_day__lt=today - dt.timedelta(days=1)
    )
    rows = (
        Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .annotate(rollover_minute=F("id") % MINUTES_PER_DAY, member_count=Coalesce("stats__members", 0))
        .filter(
            Q(schema_name__in=list(changed))
            | Q(stats__isnull=True)
            | Q(stats__refreshed_at__isnull=True)
            | Q(stats__changed_at__isnull=False)
            | rollover_due
        )
        .order_by()
        .values_list("schema_name", "member_count")
    )
    return [RefreshTarget(schema_name=name, members=members) for name, members in rows]


def organization_member_count(*, schema_name: str) -> int:
    """The org's joined members as of its last refresh (0 when never refreshed)."""
    row = (
        Organization.objects.filter(schema_name=schema_name)
        .annotate(member_count=Coalesce("stats__members", 0))
        .values_list("member_count", flat=True)
        .first()
    )
    return row or 0


OVERVIEW_ORDERINGS = {
    "name": "name",
    "members": "stats__members",
    "pending": "stats__pending_invites",
    "active": "stats__active_30d",
    "last_activity": "stats__last_activity_at",
    "created": "created_at",
}
SIZE_BUCKETS = [(0, 10), (11, 100), (101, 1_000), (1_001, 10_000), (10_001, None)]


def organizations_overview(
    *, search: str = "", ordering: str = "-members", schema_name: str | None = None
) -> QuerySet[Organization]:
    """Orgs with their figures (public schema only), searched by name, slug or domain, ordered by
    one of ``OVERVIEW_ORDERINGS`` (``-`` for descending; nulls last; ties by name)."""
    descending = ordering.startswith("-")
    field = OVERVIEW_ORDERINGS.get(ordering.lstrip("-"), OVERVIEW_ORDERINGS["members"])
    order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    queryset = Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).select_related("stats")
    if schema_name is not None:  # one org only
        queryset = queryset.filter(schema_name=schema_name)
    search = search.strip()
    if search:
        matching_domain = Domain.objects.filter(tenant=OuterRef("pk"), domain__icontains=search)
        queryset = queryset.filter(Q(name__icontains=search) | Q(slug__icontains=search) | Exists(matching_domain))
    return queryset.order_by(order, "name", "pk")


def instance_overview(*, now: dt.datetime, schema_name: str | None = None) -> dict:
    """Instance-wide totals (one org's with ``schema_name``): orgs, members, invites, and orgs by
    size and by last activity."""
    stats = OrganizationStats.objects.exclude(organization__schema_name=settings.PUBLIC_SCHEMA_NAME)
    if schema_name is not None:
        stats = stats.filter(organization__schema_name=schema_name)
    aggregates = {
        "organizations": Count("pk"),
        "total_members": Coalesce(Sum("members"), 0),
        "total_pending_invites": Coalesce(Sum("pending_invites"), 0),
        "total_active_30d": Coalesce(Sum("active_30d"), 0),
        "active_day": Count("pk", filter=Q(last_activity_at__gte=now - dt.timedelta(days=1))),
        "active_week": Count("pk", filter=Q(last_activity_at__gte=now - dt.timedelta(days=7))),
        "active_month": Count("pk", filter=Q(last_activity_at__gte=now - dt.timedelta(days=30))),
        "never_active": Count("pk", filter=Q(last_activity_at__isnull=True)),
    }
    for low, high in SIZE_BUCKETS:
        size = Q(members__gte=low) if high is None else Q(members__gte=low, members__lte=high)
        aggregates[f"size_{low}"] = Count("pk", filter=size)
    totals = stats.aggregate(**aggregates)
    totals["sizes"] = [
        (f"{low:,} to {high:,}" if high is not None else f"over {low - 1:,}", totals.pop(f"size_{low}"))
        for low, high in SIZE_BUCKETS
    ]
    return totals
