"""Django admin for the shared tables: organizations, their domains and people.

Membership-aware columns and pages (members, invites, each person's orgs) are added by
``accounts/admin.py``, which re-registers these admins: the shared core never imports an app.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from orgdash.core.models import Domain, Organization, User


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "primary_domain", "created_at")
    search_fields = ("name", "slug", "domains__domain")
    readonly_fields = ("schema_name", "created_at")
    inlines = [DomainInline]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(schema_name="public").prefetch_related("domains")

    @admin.display(description="Domain")
    def primary_domain(self, obj):
        return next((d.domain for d in obj.domains.all() if d.is_primary), "")


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
