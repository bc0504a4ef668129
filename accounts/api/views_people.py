"""Bulk actions on many people (``POST users/bulk/``) and one's own profile (``GET``/``PATCH me/``)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import people_services, selectors
from accounts.api.permissions import IsOrgMember
from accounts.models import Role, Status
from orgdash.api.errors import documented_error
from orgdash.core.client_address import client_ip


class BulkInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=people_services.BulkAction.CHOICES,
        error_messages={
            "invalid_choice": f'Invalid action "{{input}}": use one of {", ".join(people_services.BulkAction.CHOICES)}.'
        },
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=people_services.MAX_BULK_IDS,
        error_messages={
            "empty": "Give at least one id.",
            "min_length": "Give at least one id.",
            "max_length": f"At most {people_services.MAX_BULK_IDS} ids at once.",
        },
    )
    role = serializers.ChoiceField(
        choices=Role.choices,
        required=False,
        error_messages={"invalid_choice": f'Invalid role "{{input}}": use one of {", ".join(Role.values)}.'},
        help_text="set_role only: the new role.",
    )

    def validate(self, data):
        if data["action"] == people_services.BulkAction.SET_ROLE and "role" not in data:
            raise serializers.ValidationError({"role": ["set_role needs a role."]})
        return data


class BulkSkippedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.CharField()


class BulkResultSerializer(serializers.Serializer):
    done = serializers.ListField(child=serializers.IntegerField(), help_text="The people changed.")
    skipped = BulkSkippedSerializer(many=True, help_text="The people left as they were, and why.")


class UserBulkApi(APIView):
    @extend_schema(
        operation_id="users_bulk",
        request=BulkInputSerializer,
        responses={
            200: BulkResultSerializer,
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


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text="Your membership's id in this organization.")
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(max_length=200, allow_blank=True, required=False, trim_whitespace=True)
    username = serializers.RegexField(
        r"^[A-Za-z0-9_.@+-]+\Z",
        max_length=150,
        min_length=1,
        required=False,
        error_messages={"invalid": "A username may hold letters, digits and . @ + - _ only."},
    )
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    status = serializers.ChoiceField(choices=Status.choices, read_only=True)


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
