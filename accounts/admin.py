"""Django admin for support staff.

On an org host: the org's members, invites, API keys and (read-only) audit trail. On the public
host those tables do not exist, so the models are hidden there; instead the Organization admin
gets a members-and-invites page per org (read inside that org's schema) and the User admin shows
which orgs a person belongs to.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models.expressions import RawSQL
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django_tenants.utils import tenant_context

from accounts import people_services, selectors, services
from accounts.audit_services import staff_view_record
from accounts.login_protection import account_unlock_by_staff
from accounts.models import ApiKey, AuditEvent, Invite, Membership, Role, Status
from orgdash.core import admin as core_admin
from orgdash.core.client_address import client_ip
from orgdash.core.models import Organization, User
from orgdash.errors import DomainError

MEMBERS_PAGE_ROWS = 200


class TenantOnlyAdmin(admin.ModelAdmin):
    """Shown on org hosts only: the public schema has no tenant tables."""

    def has_module_permission(self, request):
        return _on_org_host() and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _on_org_host() and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _on_org_host() and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return _on_org_host() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return _on_org_host() and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        # Every list and detail page reads through here: support staff reading the org are audited.
        staff_view_record(request=request)
        return super().get_queryset(request)


def _on_org_host() -> bool:
    return connection.schema_name != "public"


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("role",)

    def clean_role(self):
        # The service's last-admin rule, checked here so the form is shown again with its message;
        # the service checks it again under lock (see MembershipAdmin.save_model).
        role = self.cleaned_data["role"]
        membership = self.instance
        if membership.is_admin and role != Role.ADMIN and selectors.admin_count(exclude_pk=membership.pk) == 0:
            raise ValidationError(services.LAST_ADMIN_MESSAGE)
        return role


@admin.register(Membership)
class MembershipAdmin(TenantOnlyAdmin):
    form = MembershipAdminForm
    list_display = ("email", "username", "name", "role", "state", "created_at", "last_active", "days_active")
    list_filter = ("role", "state")
    search_fields = ("email", "username", "name")
    ordering = ("email",)
    readonly_fields = (
        "user",
        "email",
        "username",
        "name",
        "state",
        "created_at",
        "joined_at",
        "invited_by",
        "invited_by_email",
        "deactivated_at",
        "deactivated_by",
        "last_active",
        "days_active",
    )
    fields = ("role", *readonly_fields)
    actions = ("reactivate_selected", "unlock_selected")

    def has_add_permission(self, request):
        return False  # people join through invites

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: the history stays

    def save_model(self, request, obj, form, change):
        # Role changes go through the service: last-admin rule and audit.
        if change and "role" in form.changed_data:
            new_role = obj.role
            obj.role = form.initial["role"]
            try:
                services.membership_change_role(
                    membership=obj, role=new_role, actor=request.user, ip_address=client_ip(request)
                )
            except DomainError as error:  # the rule broken since the form was checked (a change meanwhile)
                request.orgdash_change_refused = True
                messages.error(request, error.message)

    def log_change(self, request, obj, message):
        if not getattr(request, "orgdash_change_refused", False):
            super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "orgdash_change_refused", False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_change(request, obj)

    @admin.action(description="Reactivate the selected members", permissions=["change"])
    def reactivate_selected(self, request, queryset):
        done, skipped = 0, 0
        for membership in queryset:
            if membership.state != Membership.State.DEACTIVATED:
                skipped += 1
                continue
            try:
                services.membership_reactivate(membership=membership, actor=request.user, ip_address=client_ip(request))
            except DomainError:  # changed since the list was drawn
                skipped += 1
                continue
            done += 1
        _report_bulk(request, done=done, skipped=skipped, did="reactivated", why="they were not deactivated")

    @admin.action(
        description="Unlock the log-in of the selected members (after too many wrong passwords)",
        permissions=["change"],
    )
    def unlock_selected(self, request, queryset):
        done, skipped = 0, 0
        for membership in queryset.select_related("user"):
            if account_unlock_by_staff(membership=membership, actor=request.user, ip_address=client_ip(request)):
                done += 1
            else:
                skipped += 1
        _report_bulk(request, done=done, skipped=skipped, did="unlocked", why="their log-in was not locked")


def _report_bulk(request, *, done: int, skipped: int, did: str, why: str) -> None:
    """The message of a bulk admin action: how many it changed, and how many it left and why."""
    if done:
        messages.success(request, f"{done} {'was' if done == 1 else 'were'} {did}.")
    if skipped:
        messages.warning(request, f"{skipped} {'was' if skipped == 1 else 'were'} skipped: {why}.")
    if not done and not skipped:
        messages.info(request, "Nothing was selected.")


@admin.register(Invite)
class InviteAdmin(TenantOnlyAdmin):
    list_display = ("membership", "expires_at", "sent_at", "send_attempts", "last_send_error")
    search_fields = ("membership__email",)
    readonly_fields = ("membership", "token_hash", "expires_at", "sent_at", "send_attempts", "last_send_error")
    actions = ("resend_selected",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        # The invite's fields are not edited here, but resending one changes it.
        return _on_org_host() and request.user.has_perm("accounts.change_invite")

    @admin.action(description="Resend the selected invites (new links)", permissions=["resend"])
    def resend_selected(self, request, queryset):
        done, skipped = 0, 0
        for invite in queryset.select_related("membership"):
            try:
                services.invite_resend(membership=invite.membership, actor=request.user, ip_address=client_ip(request))
            except DomainError:  # accepted or cancelled meanwhile
                skipped += 1
            else:
                done += 1
        _report_bulk(request, done=done, skipped=skipped, did="sent a new invite", why="no longer pending")


@admin.register(ApiKey)
class ApiKeyAdmin(TenantOnlyAdmin):
    list_display = ("prefix", "kind", "membership", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("kind",)
    search_fields = ("prefix", "label", "membership__email")
    readonly_fields = ("kind", "membership", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    fields = ("label", *readonly_fields)
    actions = ("revoke_selected",)

    def has_add_permission(self, request):
        return False  # keys are made by their owner (API) or `manage.py create_api_key`

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        done, skipped = 0, 0
        for api_key in queryset:
            if api_key.revoked_at is not None:
                skipped += 1
                continue
            services.api_key_revoke(api_key=api_key, actor=request.user, ip_address=client_ip(request))
            done += 1
        _report_bulk(request, done=done, skipped=skipped, did="revoked", why="already revoked")


@admin.register(AuditEvent)
class AuditEventAdmin(TenantOnlyAdmin):
    list_display = ("created_at", "actor_email", "action", "target_repr", "ip_address")
    list_filter = ("action",)
    search_fields = ("actor_email", "target_repr", "action")
    readonly_fields = (
        "created_at",
        "actor",
        "actor_email",
        "action",
        "target_membership",
        "target_repr",
        "ip_address",
        "data",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- public host: an organization's members and invites --------------------------------------


class OrganizationMembersAdminMixin:
    """Adds ``<org id>/members/`` to the Organization admin: the org's members and invites,
    searchable by e-mail, name or username, with "resend invite" and "reactivate member" going through the services."""

    def get_urls(self):
        urls = [
            path(
                "<path:object_id>/members/",
                self.admin_site.admin_view(self.members_view),
                name="core_organization_members",
            )
        ]
        return urls + super().get_urls()

    @admin.display(description="Members and invites")
    def members_page_link(self, obj):
        if obj is None or obj.pk is None or obj.is_public:
            return "-"
        url = reverse("admin:core_organization_members", args=[obj.pk])
        return format_html('<a href="{}">Open the members and invites of {}</a>', url, obj.name)

    def members_view(self, request, object_id):
        organization = self.get_object(request, object_id)
        if organization is None or organization.is_public:
            raise Http404("No such organization.")
        if not self.has_view_permission(request, organization):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request, organization):
                raise PermissionDenied
            self._members_action(request, organization)
            return HttpResponseRedirect(request.get_full_path())
        query = request.GET.get("q", "").strip()
        with tenant_context(organization):
            staff_view_record(request=request)
            # The Users list's search: e-mail, name or username, in any case.
            members = list(selectors.membership_list(search=query, ordering="email")[:MEMBERS_PAGE_ROWS])
            invites = {
                invite.membership_id: invite
                for invite in Invite.objects.filter(membership_id__in=[m.pk for m in members])
            }
            counts = selectors.membership_status_counts()
        for member in members:
            member.pending_invite = invites.get(member.pk)
            member.status_label = Status(member.status).label
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": organization,
            "organization": organization,
            "title": f"Members and invites of {organization.name}",
            "members": members,
            "query": query,
            "counts": counts,
            "row_limit": MEMBERS_PAGE_ROWS,
            "can_change": self.has_change_permission(request, organization),
        }
        return TemplateResponse(request, "accounts/admin/organization_members.html", context)

    def _members_action(self, request, organization) -> None:
        action = request.POST.get("action")
        try:
            membership_id = int(request.POST.get("membership", ""))
        except ValueError:
            messages.error(request, "No member was chosen.")
            return
        with tenant_context(organization):
            membership = Membership.objects.filter(pk=membership_id).first()
            if membership is None:
                messages.error(request, "That member or invite no longer exists.")
                return
            try:
                if action == "resend" and membership.state == Membership.State.INVITED:
                    services.invite_resend(membership=membership, actor=request.user, ip_address=client_ip(request))
                    messages.success(request, f"A new invite was sent to {membership.email}.")
                elif action == "reactivate" and membership.state == Membership.State.DEACTIVATED:
                    services.membership_reactivate(
                        membership=membership, actor=request.user, ip_address=client_ip(request)
                    )
                    messages.success(request, f"{membership.email} was reactivated.")
                else:
                    messages.error(request, f"That action does not apply to {membership.email} now.")
            except DomainError as error:  # changed meanwhile
                messages.error(request, f"{membership.email}: {error.message}")


# --- public host: which orgs a person belongs to ---------------------------------------------


def _organizations_sql(user_id_sql: str, user_id_params: list) -> tuple[str, list] | None:
    """One SQL expression listing '<org name> (<role>, <state>)' for a user over every org schema.

    A UNION ALL over the orgs' schemas: fine for the modest number of orgs of an instance."""
    parts, params = [], []
    for schema_name, name in Organization.objects.exclude(schema_name="public").values_list("schema_name", "name"):
        parts.append(
            "SELECT %s || ' (' || m.role || ', ' || m.state || ')' AS label "
            f"FROM {connection.ops.quote_name(schema_name)}.accounts_membership m WHERE m.user_id = {user_id_sql}"
        )
        params += [name, *user_id_params]
    if not parts:
        return None
    return f"(SELECT string_agg(label, '; ' ORDER BY label) FROM ({' UNION ALL '.join(parts)}) AS orgs)", params


def user_organizations(user) -> list[str]:
    found = _organizations_sql("%s", [user.pk])
    if found is None:
        return []
    expression, params = found
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression}", params)
        labels = cursor.fetchone()[0]
    return labels.split("; ") if labels else []


class UserOrganizationsAdminMixin:
    """The User admin lists each person's organizations (role and state), in the list and the page."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        found = _organizations_sql('"core_user"."id"', []) if connection.schema_name == "public" else None
        if found is None:
            return queryset
        return queryset.annotate(organizations_label=RawSQL(*found))  # noqa: S611 - names are parameters, schemas quoted

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Every org's Users list searches and sorts copies of these: write them through at once.
        if change and {"email", "username", "name"} & set(form.changed_data):
            people_services.identity_copy_to_every_org(user=obj)

    @admin.display(description="Organizations")
    def organizations(self, obj):
        label = getattr(obj, "organizations_label", None)
        return label or "-"

    @admin.display(description="Organizations (role, state)")
    def organization_memberships(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        labels = user_organizations(obj)
        if not labels:
            return "None"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((label,) for label in labels)))


# --- the shared admins, extended with what only accounts knows --------------------------------


class OrganizationAdmin(OrganizationMembersAdminMixin, core_admin.OrganizationAdmin):
    """The core's org list (figures from the public schema) plus each org's members page."""

    readonly_fields = (*core_admin.OrganizationAdmin.readonly_fields, "members_page_link")


IS_ACTIVE_HELP = (
    "Read-only here: switching an account off or on would skip every org's rules (an org keeps at"
    " least one active admin) and its audit trail. Access is given and taken per organization:"
    " deactivate or reactivate the person's membership in the org's dashboard (Users tab), or"
    " reactivate it on the org's Members and invites page here."
)


class UserAdmin(UserOrganizationsAdminMixin, core_admin.UserAdmin):
    list_display = ("email", "username", "name", "organizations", "is_staff", "is_active", "date_joined")
    readonly_fields = ("organization_memberships", "is_active")
    fieldsets = (
        core_admin.UserAdmin.fieldsets[0],
        ("Organizations", {"fields": ("organization_memberships",)}),
        *core_admin.UserAdmin.fieldsets[1:],
    )

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            kwargs["help_texts"] = {**kwargs.get("help_texts", {}), "is_active": IS_ACTIVE_HELP}
        return super().get_form(request, obj, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # A person's memberships, invites and audit rows live in the orgs' schemas, out of reach of
        # Django's deletion (and their history must stay): access is removed per org instead.
        return False


# Registered by the core admin (loaded first: orgdash.core precedes accounts in INSTALLED_APPS).
admin.site.unregister(Organization)
admin.site.register(Organization, OrganizationAdmin)
admin.site.unregister(User)
admin.site.register(User, UserAdmin)
