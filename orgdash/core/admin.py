from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import connection

from accounts.admin import OrganizationMembersAdminMixin, UserOrganizationsAdminMixin
from orgdash.core.models import Domain, Organization, User


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


def _member_counts(organization: Organization) -> tuple[int, int]:
    """(joined members, pending invites) read from the org's own schema."""
    if organization.is_public:
        return 0, 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE state = 'joined'), count(*) FILTER (WHERE state = 'invited') "
            f'FROM "{organization.schema_name}".accounts_membership'
        )
        return cursor.fetchone()


@admin.register(Organization)
class OrganizationAdmin(OrganizationMembersAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "primary_domain", "members", "pending_invites", "created_at")
    search_fields = ("name", "slug", "domains__domain")
    readonly_fields = ("schema_name", "created_at", "members_page_link")
    inlines = [DomainInline]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains")

    @admin.display(description="Domain")
    def primary_domain(self, obj):
        return next((d.domain for d in obj.domains.all() if d.is_primary), "")

    @admin.display(description="Members")
    def members(self, obj):
        return _member_counts(obj)[0]

    @admin.display(description="Pending invites")
    def pending_invites(self, obj):
        return _member_counts(obj)[1]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain", "tenant__name")


@admin.register(User)
class UserAdmin(UserOrganizationsAdminMixin, DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "username", "name", "organizations", "is_staff", "is_active", "date_joined")
    readonly_fields = ("organization_memberships",)
    search_fields = ("email", "username", "name")
    list_filter = ("is_staff", "is_active")
    fieldsets = (
        (None, {"fields": ("email", "username", "name", "password")}),
        ("Organizations", {"fields": ("organization_memberships",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "username", "password1", "password2")}),)
