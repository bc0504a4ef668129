"""Per-org work in proportion to change: which orgs beat's round visits, on which queue, and what
a finished refresh records (the org's figures in the public schema, its change mark removed).

The tasks in ``activity.tasks`` are thin callers of these functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership
from activity.aggregates import refresh_activity
from activity.services import membership_stats_catch_up
from orgdash.core.changes import (
    change_clock,
    changed_organizations,
    organization_change_seen,
    organization_marks_prune,
)
from orgdash.core.selectors import RefreshTarget, organizations_to_refresh
from orgdash.core.services import organization_stats_record

ACTIVE_WINDOW = dt.timedelta(days=30)


def refresh_round(*, now: dt.datetime | None = None) -> list[RefreshTarget]:
    """The orgs this round refreshes: changed (Redis and database marks), never refreshed, or due
    for their daily rollover. One Redis read and one query, however many orgs are idle.

    Every marked org that exists is visited, so a marked name the query did not return is an org
    deleted since (or the public schema): its mark would never be cleared by a refresh, so it
    goes here."""
    changed = changed_organizations() or {}
    targets = organizations_to_refresh(changed=changed.keys(), now=now or timezone.now())
    visited = {target.schema_name for target in targets}
    orphaned = {schema: score for schema, score in changed.items() if schema not in visited}
    if orphaned:
        organization_marks_prune(orphaned)
    return targets


@dataclass(frozen=True)
class OrganizationFigures:
    members: int
    pending_invites: int
    active_30d: int
    last_activity_at: dt.datetime | None


def organization_figures(*, now: dt.datetime) -> OrganizationFigures:
    """The current org's figures, in one query over its memberships."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FILTER (WHERE state = %(joined)s),
                   count(*) FILTER (WHERE state = %(invited)s),
                   count(*) FILTER (WHERE state = %(joined)s AND last_active >= %(since)s),
                   max(last_active)
            FROM {quote(Membership._meta.db_table)}
            """,
            {"joined": Membership.State.JOINED, "invited": Membership.State.INVITED, "since": now - ACTIVE_WINDOW},
        )
        members, pending, active, last_activity_at = cursor.fetchone()
    return OrganizationFigures(members, pending, active, last_activity_at)


def organization_refresh(*, full: bool = False, wait: bool = False) -> str:
    """Refreshes the current org: members' figures caught up, aggregates, then its figures in the
    public schema; its change marks go only once all of that succeeded, and only those older than
    the refresh's start (a change landing meanwhile keeps the org marked for the next round).
    ``wait``: wait for a refresh of the org already running instead of skipping."""
    schema = connection.schema_name
    read_from = change_clock()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        started_at = cursor.fetchone()[0]
    caught_up = membership_stats_catch_up()
    # The aggregates and the org's figures commit together: one commit (one WAL flush) per refresh.
    with transaction.atomic():
        result = refresh_activity(full=full, wait=wait)
        if not result.refreshed:  # another refresh holds the org: its marks stay for the next round
            return f"{schema}: {caught_up.members} members caught up; {result.describe()}"
        figures = organization_figures(now=started_at)
        organization_stats_record(
            schema_name=schema,
            members=figures.members,
            pending_invites=figures.pending_invites,
            active_30d=figures.active_30d,
            last_activity_at=figures.last_activity_at,
            refreshed_at=started_at,
            refreshed_day=result.computed_for_day,
        )
    if read_from is not None:
        organization_change_seen(schema=schema, read_from=read_from)
    return f"{schema}: {caught_up.members} members caught up; {result.describe()}"
