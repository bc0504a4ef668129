"""PERFORMANCE.md's SCIM row: what an identity provider's sync costs beside the Users list.

``GET /scim/v2/Users?filter=userName eq "..."`` (Okta's and Entra ID's look-up before every
create) against the Users list searching the same person, and a SCIM page of 100 against a Users
list page of 100, both through the full stack with a SCIM token made by the accounts service in a
transaction that is rolled back at the end: the org's own token keeps working and no row stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from django.db import transaction

from accounts.services import scim_token_rotate
from tooling.benchmark.harness import Row, measure_pair, ratio_of

if TYPE_CHECKING:  # operations.py registers this module, so it cannot be imported from here at run time
    from tooling.benchmark.operations import Context

TARGET = "ratio <= 2"
RATIO_LIMIT = 2


def scim_users(ctx: Context) -> list[Row]:
    with transaction.atomic():
        _, secret = scim_token_rotate(label="benchmark")
        try:
            return _measure(ctx, {"HTTP_AUTHORIZATION": f"Bearer {secret}"})
        finally:
            transaction.set_rollback(True)


def _measure(ctx: Context, scim_auth: dict) -> list[Row]:
    [(email,)] = ctx.sql(
        "SELECT email FROM accounts_membership WHERE state = 'joined' ORDER BY id OFFSET "
        "(SELECT count(*) / 2 FROM accounts_membership) LIMIT 1"
    )

    def scim_get(path: str):
        response = ctx.client.get(f"/scim/v2/{path}", **scim_auth)
        if response.status_code != 200:
            raise RuntimeError(f"GET /scim/v2/{path} answered {response.status_code}: {response.content[:300]!r}")
        return response

    lookup = quote(f'userName eq "{email}"')
    found = scim_get(f"Users?filter={lookup}").json()
    if found["totalResults"] != 1:
        raise RuntimeError(f"the userName filter found {found['totalResults']} people for {email}")
    rows = []
    for name, scim_path, list_path in (
        (
            'SCIM Users?filter=userName eq "..."',
            f"Users?filter={lookup}",
            f"/api/v1/users/?search={quote(email)}&page_size=50",
        ),
        ("SCIM Users page of 100", "Users?startIndex=1&count=100", "/api/v1/users/?page_size=100"),
    ):
        timing, reference = measure_pair(
            lambda scim_path=scim_path: scim_get(scim_path),
            lambda list_path=list_path: ctx.get(list_path),
            repetitions=ctx.repetitions,
            warmup=10,
        )
        ratio = ratio_of(timing.p50, reference.p50)
        meets = ratio is not None and ratio <= RATIO_LIMIT
        rows.append(
            Row(
                name,
                timing.p50,
                timing.p95,
                "the Users list for the same people",
                reference.p50,
                ratio,
                TARGET,
                meets,
            )
        )
    return rows
