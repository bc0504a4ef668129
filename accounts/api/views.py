"""The Users, Invites, API-key, profile and audit-trail endpoints. Thin: they validate input, call a selector or a
service, and shape the answer."""

import datetime as dt

from django.db import connection
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import people_services, selectors, services
from accounts.api.permissions import IsOrgAdmin, IsOrgMember
from accounts.api.serializers import (
    MAX_PAGE_SIZE,
    ApiKeyCreatedOutputSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    AuditEventOutputSerializer,
    AuditFilterInputSerializer,
    AuditListInputSerializer,
    AuditPageOutputSerializer,
    BulkInputSerializer,
    BulkResultOutputSerializer,
    InviteCreateInputSerializer,
    InviteResultOutputSerializer,
    MeSerializer,
    UserCountsOutputSerializer,
    UserFilterInputSerializer,
    UserListInputSerializer,
    UserOrderingInputSerializer,
    UserOutputSerializer,
    UserPageOutputSerializer,
    UserUpdateInputSerializer,
    user_representation,
)
from accounts.audit_selectors import AUDIT_PAGE_SIZE, audit_event_list
from accounts.audit_services import audit_export_record
from accounts.exports import AUDIT_CSV_HEADER, audit_csv_rows, csv_filename, users_csv_stream
from accounts.models import ApiKey, Membership
from orgdash.api.csv_responses import CsvNegotiation, csv_lines, csv_response
from orgdash.api.errors import documented_error
from orgdash.core.client_address import client_ip

ERRORS = {
    400: documented_error("Invalid input: `detail` and `errors` by field."),
    401: documented_error("Not authenticated."),
    403: documented_error("Not an admin of this organization."),
}
NOT_FOUND = {404: documented_error("No such user in this organization.")}
LAST_ADMIN = {
    409: documented_error("Would leave the organization without an active admin (or the user is a pending invite).")
}
MEMBER_ERRORS = {
    400: documented_error("Invalid input: `detail` and `errors` by field."),
    401: documented_error("Not authenticated."),
    403: documented_error("Not a member of this organization (support staff and service keys have no keys here)."),
}


class UserPagination(PageNumberPagination):
    """``page`` and ``page_size`` (default 50; larger values are clamped to 500, not refused).
    Both are validated by ``UserListInputSerializer`` before this runs; a page past the end is 404."""

    page_size = 50
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"


def _filters(request, serializer_class=UserFilterInputSerializer) -> dict:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


def _user_response(membership_pk: int, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(UserOutputSerializer(selectors.membership_get(pk=membership_pk)).data, status=status_code)


NO_SUCH_USER = "No such user in this organization."


def _membership_or_404(pk: int) -> Membership:
    membership = Membership.objects.filter(pk=pk).first()
    if membership is None:
        raise NotFound(NO_SUCH_USER)
    return membership


class UserListApi(APIView):
    @extend_schema(
        operation_id="users_list",
        parameters=[UserListInputSerializer],
        responses={200: UserPageOutputSerializer, **ERRORS, 404: documented_error("Page past the end.")},
        summary="Members and pending invites, filtered, ordered and paginated",
    )
    def get(self, request):
        params = _filters(request, UserListInputSerializer)
        rows = selectors.membership_rows(
            search=params["search"],
            statuses=params["status"],
            role=params["role"],
            ordering=params["ordering"] or selectors.DEFAULT_ORDERING,
        )
        paginator = UserPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response([user_representation(row) for row in page])


class UserCountsApi(APIView):
    @extend_schema(
        operation_id="users_counts",
        parameters=[UserFilterInputSerializer],
        responses={200: UserCountsOutputSerializer, **ERRORS},
        summary="How many users have each status, under the list's search and role filters",
    )
    def get(self, request):
        params = _filters(request)
        return Response(selectors.membership_status_counts(search=params["search"], role=params["role"]))


class UserExportApi(APIView):
    content_negotiation_class = CsvNegotiation

    @extend_schema(
        operation_id="users_export_csv",
        parameters=[UserOrderingInputSerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR, description="The CSV file (header line, then one row per user)."
            ),
            **ERRORS,
        },
        summary="Every user matching the filters, as CSV (streamed)",
    )
    def get(self, request):
        params = _filters(request, UserOrderingInputSerializer)
        stream = users_csv_stream(
            search=params["search"],
            statuses=params["status"],
            role=params["role"],
            ordering=params["ordering"] or selectors.DEFAULT_ORDERING,
        )
        services.export_audit(
            actor=request.user,
            ip_address=client_ip(request),
            filters={"search": params["search"], "status": params["status"], "role": params["role"]},
        )
        filename = csv_filename(connection.tenant.slug, timezone.now().date())
        return csv_response(stream, filename=filename)


class UserDetailApi(APIView):
    @extend_schema(operation_id="users_retrieve", responses={200: UserOutputSerializer, **ERRORS, **NOT_FOUND})
    def get(self, request, pk: int):
        _membership_or_404(pk)
        return _user_response(pk)

    @extend_schema(
        operation_id="users_partial_update",
        request=UserUpdateInputSerializer,
        responses={200: UserOutputSerializer, **ERRORS, **NOT_FOUND, **LAST_ADMIN},
        summary="Change the role",
    )
    def patch(self, request, pk: int):
        membership = _membership_or_404(pk)
        data = UserUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "role" in data.validated_data:
            services.membership_change_role(
                membership=membership,
                role=data.validated_data["role"],
                actor=request.user,
                ip_address=client_ip(request),
            )
        return _user_response(pk)


class UserDeactivateApi(APIView):
    @extend_schema(
        operation_id="users_deactivate",
        request=None,
        responses={200: UserOutputSerializer, **ERRORS, **NOT_FOUND, **LAST_ADMIN},
        summary="Revoke access (idempotent); 409 for the last active admin or a pending invite",
    )
    def post(self, request, pk: int):
        membership = _membership_or_404(pk)
        services.membership_deactivate(membership=membership, actor=request.user, ip_address=client_ip(request))
        return _user_response(pk)


class UserReactivateApi(APIView):
    @extend_schema(
        operation_id="users_reactivate",
        request=None,
        responses={200: UserOutputSerializer, **ERRORS, **NOT_FOUND, 409: documented_error("A pending invite.")},
        summary="Restore access (idempotent)",
    )
    def post(self, request, pk: int):
        membership = _membership_or_404(pk)
        services.membership_reactivate(membership=membership, actor=request.user, ip_address=client_ip(request))
        return _user_response(pk)


class InviteCreateApi(APIView):
    @extend_schema(
        operation_id="invites_create",
        request=InviteCreateInputSerializer,
        responses={201: InviteResultOutputSerializer, **ERRORS},
        summary="Invite one or more e-mail addresses; existing members and pending invites are skipped",
    )
    def post(self, request):
        data = InviteCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.invite_create(
            emails=data.validated_data["emails"],
            role=data.validated_data["role"],
            actor=request.user,
            ip_address=client_ip(request),
        )
        invited = selectors.memberships_with_status(pks=[m.pk for m in result.invited])
        body = {"invited": UserOutputSerializer(invited, many=True).data, "skipped": result.skipped}
        return Response(body, status=status.HTTP_201_CREATED)


def _pending_invite_or_404(pk: int) -> Membership:
    membership = Membership.objects.filter(pk=pk, state=Membership.State.INVITED).first()
    if membership is None:
        raise NotFound("No pending invite with this id.")
    return membership


class InviteResendApi(APIView):
    @extend_schema(
        operation_id="invites_resend",
        request=None,
        responses={200: UserOutputSerializer, **ERRORS, 404: documented_error("No pending invite.")},
        summary="Send a new link; the old link stops working",
    )
    def post(self, request, pk: int):
        membership = _pending_invite_or_404(pk)
        try:
            services.invite_resend(membership=membership, actor=request.user, ip_address=client_ip(request))
        except services.InviteNotPending:
            raise NotFound("No pending invite with this id.")
        return _user_response(pk)


class InviteDetailApi(APIView):
    @extend_schema(
        operation_id="invites_cancel",
        responses={204: None, **ERRORS, 404: documented_error("No pending invite.")},
        summary="Cancel a pending invite",
    )
    def delete(self, request, pk: int):
        membership = _pending_invite_or_404(pk)
        try:
            services.invite_cancel(membership=membership, actor=request.user, ip_address=client_ip(request))
        except services.InviteNotPending:
            raise NotFound("No pending invite with this id.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiKeyListApi(APIView):
    """The current user's own API keys for this org."""

    permission_classes = [IsOrgMember]

    @extend_schema(operation_id="api_keys_list", responses={200: ApiKeyOutputSerializer(many=True), **MEMBER_ERRORS})
    def get(self, request):
        keys = selectors.api_keys_of(membership=request.user.membership)
        return Response(ApiKeyOutputSerializer(keys, many=True).data)

    @extend_schema(
        operation_id="api_keys_create",
        request=ApiKeyCreateInputSerializer,
        responses={201: ApiKeyCreatedOutputSerializer, **MEMBER_ERRORS},
        summary="Create a key; the secret is in this response only",
    )
    def post(self, request):
        data = ApiKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, secret = services.api_key_create(
            membership=request.user.membership,
            label=data.validated_data["label"],
            actor=request.user,
            ip_address=client_ip(request),
        )
        api_key.key = secret
        return Response(ApiKeyCreatedOutputSerializer(api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    permission_classes = [IsOrgMember]

    @extend_schema(
        operation_id="api_keys_revoke",
        responses={204: None, **MEMBER_ERRORS, 404: documented_error("No such key of yours.")},
        summary="Revoke one of your keys",
    )
    def delete(self, request, pk: int):
        api_key = ApiKey.objects.filter(pk=pk, membership=request.user.membership, revoked_at__isnull=True).first()
        if api_key is None:
            raise NotFound("No such API key.")
        services.api_key_revoke(api_key=api_key, actor=request.user, ip_address=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserBulkApi(APIView):
    @extend_schema(
        operation_id="users_bulk",
        request=BulkInputSerializer,
        responses={
            200: BulkResultOutputSerializer,
            400: documented_error("Unknown action or role, or no ids (or more than 1,000)."),
            401: documented_error("Not authenticated."),
            403: documented_error("Not an admin of this organization."),
        },
        summary="Deactivate, reactivate, change the role of, or resend or cancel the invites of many people",
    )
    def post(self, request):
        data = BulkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = people_services.membership_bulk(
            action=data.validated_data["action"],
            ids=data.validated_data["ids"],
            role=data.validated_data.get("role"),
            actor=request.user,
            ip_address=client_ip(request),
        )
        return Response({"done": result.done, "skipped": result.skipped})


def _me(*, user, membership_pk: int) -> dict:
    membership = selectors.membership_get(pk=membership_pk)
    return {
        "id": membership.pk,
        "email": user.email,
        "name": user.name,
        "username": user.username,
        "role": membership.role,
        "status": membership.status,
    }


class MeApi(APIView):
    permission_classes = [IsOrgMember]
    errors = {
        401: documented_error("Not authenticated."),
        403: documented_error("Not a member of this organization."),
    }

    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer, **errors})
    def get(self, request):
        return Response(_me(user=request.user, membership_pk=request.user.membership.pk))

    @extend_schema(
        operation_id="me_partial_update",
        request=MeSerializer,
        responses={200: MeSerializer, 400: documented_error("Invalid or taken username."), **errors},
        summary="Change your own name and username (shown in every org's Users list at once)",
    )
    def patch(self, request):
        data = MeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = people_services.profile_update(
            user=request.user,
            name=data.validated_data.get("name"),
            username=data.validated_data.get("username"),
            ip_address=client_ip(request),
        )
        return Response(_me(user=user, membership_pk=request.user.membership.pk))


class AuditPagination(PageNumberPagination):
    page_size = AUDIT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 500


FILTER_PARAMETERS = [
    OpenApiParameter("action", str, description="One action, or several separated by commas."),
    OpenApiParameter("actor", str, description="Substring of the actor's e-mail (case-insensitive)."),
    OpenApiParameter("target", str, description="Substring of the target (case-insensitive)."),
    OpenApiParameter("since", dt.date, description="First day (UTC, inclusive)."),
    OpenApiParameter("until", dt.date, description="Last day (UTC, inclusive)."),
]
AUDIT_ERRORS = {
    400: documented_error("Invalid filter"),
    401: documented_error("Not authenticated"),
    403: documented_error("Not an admin of this organization"),
}


def _audit_filters(request, serializer_class=AuditFilterInputSerializer) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    filters = dict(serializer.validated_data)
    for name in ("page", "page_size"):  # read by the paginator, once they are known to be valid
        filters.pop(name, None)
    return filters


class AuditListApi(APIView):
    """Newest first; the rows are append-only (no method other than GET)."""

    permission_classes = [IsOrgAdmin]
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="audit_list",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="Page number (from 1)."),
            OpenApiParameter(
                "page_size",
                {"type": "integer", "minimum": 1, "maximum": 500},
                description="Rows per page (default 50, at most 500).",
            ),
        ],
        responses={200: AuditPageOutputSerializer, 404: documented_error("No such page"), **AUDIT_ERRORS},
    )
    def get(self, request):
        events = audit_event_list(**_audit_filters(request, AuditListInputSerializer))
        paginator = AuditPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventOutputSerializer(page, many=True).data)


class AuditExportApi(APIView):
    permission_classes = [IsOrgAdmin]
    content_negotiation_class = CsvNegotiation
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="audit_export_csv",
        parameters=FILTER_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The matching rows as CSV"),
            **AUDIT_ERRORS,
        },
    )
    def get(self, request):
        filters = _audit_filters(request)
        audit_export_record(request=request, filters=filters)
        events = audit_event_list(**filters)
        slug = getattr(getattr(connection, "tenant", None), "slug", connection.schema_name)
        filename = f"{slug}-audit-{timezone.now():%Y-%m-%d}.csv"
        return csv_response(csv_lines(AUDIT_CSV_HEADER, audit_csv_rows(events)), filename=filename)
