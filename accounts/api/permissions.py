from rest_framework.permissions import BasePermission

from accounts.auth import is_org_admin


class IsOrgAdmin(BasePermission):
    message = "Only organization admins may do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and (user.is_staff or is_org_admin(user)))


class IsOrgMember(BasePermission):
    message = "Only members of this organization may do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "membership", None) is not None)
