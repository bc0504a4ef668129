"""Writes on shared (public schema) data: organizations and their domains."""

import datetime as dt
import re

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django_tenants.utils import schema_context

from orgdash.celery import queue_task
from orgdash.core.models import Domain, Organization, OrganizationStats
from orgdash.core.schemas import schema_clone, template_schema_ensure
from orgdash.core.spare_schemas import spare_schema_claim, spare_schemas_wanted
from orgdash.errors import InvalidInput

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
RESERVED_SLUGS = {"public", "www", "admin", "api", "static", "pg_catalog", "information_schema"}


class OrganizationError(InvalidInput, ValueError):
    """A slug or instance mode that does not allow the organization."""


def organization_host(organization: Organization) -> str:
    domain = organization.domains.filter(is_primary=True).first()
    return domain.domain if domain else ""


def organization_url(organization: Organization) -> str:
    host = organization_host(organization)
    port = settings.ORGDASH_PORT
    suffix = f":{port}" if port and port not in ("80", "443") else ""
    return f"{settings.ORGDASH_PUBLIC_URL_SCHEME}://{host}{suffix}/"


def public_tenant_ensure() -> Organization:
    """The public tenant owns the bare base domain in multi-tenant mode (support staff's admin)."""
    with schema_context("public"):
        public, _ = Organization.objects.get_or_create(
            schema_name="public", defaults={"name": "Public site", "slug": "public"}
        )
        if settings.ORGDASH_MODE == "multi-tenant":
            Domain.objects.get_or_create(
                domain=settings.ORGDASH_BASE_DOMAIN, defaults={"tenant": public, "is_primary": True}
            )
        return public


def organization_create(*, slug: str, name: str, verbosity: int = 0) -> Organization:
    """Creates the org, its schema (migrated) and its domain. Idempotent on an existing slug."""
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug) or slug in RESERVED_SLUGS:
        raise OrganizationError(
            f"'{slug}' is not a valid organization slug: use 3-63 lowercase letters, digits and hyphens, "
            "starting with a letter."
        )
    existing = Organization.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    if settings.ORGDASH_MODE == "dedicated":
        if Organization.objects.exclude(schema_name="public").exists():
            raise OrganizationError("A dedicated instance serves exactly one organization.")
        host = settings.ORGDASH_BASE_DOMAIN
    else:
        host = f"{slug}.{settings.ORGDASH_BASE_DOMAIN}"
    organization = Organization(schema_name=slug.replace("-", "_"), slug=slug, name=name or slug)
    if settings.TENANT_BASE_SCHEMA:
        template_schema_ensure(verbosity=verbosity)  # migrates the template if a deploy moved on
        organization.auto_create_schema = False
        # Renaming a spare and cloning are DDL, which PostgreSQL runs in the transaction: the org,
        # its schema, its domain and its figures row exist together or not at all.
        with transaction.atomic():
            organization.save(verbosity=verbosity)
            if not spare_schema_claim(schema_name=organization.schema_name):
                schema_clone(schema_name=organization.schema_name)
            Domain.objects.create(domain=host, tenant=organization, is_primary=True)
            OrganizationStats.objects.create(organization=organization)
            if spare_schemas_wanted():
                # robust: a broker outage must not fail the creation; beat refills the pool too.
                transaction.on_commit(
                    lambda: queue_task("orgdash.core.tasks.refill_spare_schemas", headers={"_schema_name": "public"}),
                    robust=True,
                )
        return organization
    organization.save(verbosity=verbosity)  # creates and migrates the schema
    with transaction.atomic():
        Domain.objects.create(domain=host, tenant=organization, is_primary=True)
        OrganizationStats.objects.create(organization=organization)
    return organization


def organization_stats_record(
    *,
    schema_name: str,
    members: int,
    pending_invites: int,
    active_30d: int,
    last_activity_at: dt.datetime | None,
    refreshed_at: dt.datetime,
    refreshed_day: dt.date,
) -> None:
    """Stores an org's figures after a successful refresh that started at ``refreshed_at``
    (database clock), and clears its database change mark when the refresh started after it.
    Idempotent; the row is created if missing. One statement when the row exists (the usual
    case), so a refresh's transaction pays one round trip for it."""
    figures = {
        "members": members,
        "pending_invites": pending_invites,
        "active_30d": active_30d,
        "last_activity_at": last_activity_at,
        "refreshed_at": refreshed_at,
        "refreshed_day": refreshed_day,
    }
    updated = OrganizationStats.objects.filter(organization__schema_name=schema_name).update(
        **figures,
        changed_at=Case(When(changed_at__lt=refreshed_at, then=Value(None)), default=F("changed_at")),
    )
    if updated:
        return
    organization = Organization.objects.filter(schema_name=schema_name).only("id").first()
    if organization is None:
        raise OrganizationError(f"no organization has the schema {schema_name!r}")
    with transaction.atomic():
        OrganizationStats.objects.update_or_create(organization=organization, defaults=figures)
