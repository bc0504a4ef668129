"""Django admin for the shared tables: organizations, their domains and people.

Membership-aware columns and pages (members, invites, each person's orgs) are added by
``accounts/admin.py``, which re-registers these admins: the shared core never imports an app.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from orgdash.core.models import Domain, Organization, User
from orgdash.core.selectors import OVERVIEW_ORDERINGS, instance_overview, organizations_overview


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Reads only the public schema: the figures come from ``OrganizationStats``, kept by each
    org's refresh, so the list costs the same few queries however many orgs there are."""

    list_display = (
        "name",
        "slug",
        "primary_domain",
        "members",
        "pending_invites",
        "active_30d",
        "last_activity",
        "created_at",
    )
    search_fields = ("name", "slug", "domains__domain")
    readonly_fields = ("schema_name", "created_at")
    inlines = [DomainInline]
    change_list_template = "admin/core/organization/change_list.html"
    # Rendering the rows is most of the page's cost (Django admin spends ~0.5 ms a cell): a page
    # of 50, and no bulk actions (deleting an org row would orphan its schema) nor their checkboxes.
    list_per_page = 50
    actions = None

    def has_add_permission(self, request):
        # An org is its schema, domain and first admin too: `manage.py create_org` makes them together.
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting the row would leave the org's schema (and its people's data) behind.
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .exclude(schema_name="public")
            .select_related("stats")
            # In the page's one query rather than a second one and 50 Domain objects.
            .annotate(
                primary_domain_name=Subquery(
                    Domain.objects.filter(tenant=OuterRef("pk"), is_primary=True).order_by("pk").values("domain")[:1]
                )
            )
        )

    def get_urls(self):
        overview = path("overview/", self.admin_site.admin_view(self.overview_view), name="core_organization_overview")
        return [overview, *super().get_urls()]

    @admin.display(description="Domain")
    def primary_domain(self, obj):
        return obj.primary_domain_name or ""

    @staticmethod
    def _stat(obj, name):
        stats = getattr(obj, "stats", None)
        return getattr(stats, name) if stats is not None else None

    @admin.display(description="Members", ordering="stats__members")
    def members(self, obj):
        return self._stat(obj, "members")

    @admin.display(description="Pending invites", ordering="stats__pending_invites")
    def pending_invites(self, obj):
        return self._stat(obj, "pending_invites")

    @admin.display(description="Active (30 days)", ordering="stats__active_30d")
    def active_30d(self, obj):
        return self._stat(obj, "active_30d")

    @admin.display(description="Last activity", ordering="stats__last_activity_at")
    def last_activity(self, obj):
        return self._stat(obj, "last_activity_at")

    def overview_view(self, request):
        """Support staff's instance overview: totals, orgs by size and activity, and every org
        with its figures, sortable and searchable, from the public schema only."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        # Instance-wide on the instance's own host; on an org's host, that org only (nothing
        # about one org is shown on another's host).
        only = None if connection.schema_name == get_public_schema_name() else connection.schema_name
        search = request.GET.get("q", "")
        ordering = request.GET.get("o", "-members")
        if ordering.lstrip("-") not in OVERVIEW_ORDERINGS:
            ordering = "-members"
        organizations = organizations_overview(search=search, ordering=ordering, schema_name=only)
        page = Paginator(organizations, OVERVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
        columns = [
            (key, label, f"-{key}" if ordering != f"-{key}" else key, ordering.lstrip("-") == key)
            for key, label in OVERVIEW_COLUMNS
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Organizations overview",
            "totals": instance_overview(now=timezone.now(), schema_name=only),
            "page": page,
            "search": search,
            "ordering": ordering,
            "columns": columns,
        }
        return TemplateResponse(request, "admin/core/organization/overview.html", context)


OVERVIEW_PAGE_SIZE = 50
OVERVIEW_COLUMNS = [
    ("name", "Organization"),
    ("members", "Members"),
    ("pending", "Pending invites"),
    ("active", "Active (30 days)"),
    ("last_activity", "Last activity"),
    ("created", "Created"),
]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain", "tenant__name")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "username", "name", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "username", "name")
    list_filter = ("is_staff", "is_active")
    fieldsets = (
        (None, {"fields": ("email", "username", "name", "password")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "username", "password1", "password2")}),)
