"""The SCIM 2.0 endpoints (RFC 7644) under ``/scim/v2/``: thin views over ``scim.selectors`` and
``scim.services``. Bodies are ``application/scim+json``; every error is a SCIM Error message
(``"status"`` as a string, ``scimType`` where RFC 7644 §3.12 has one), never a 5xx for bad input."""

import json
import re

from django.core.exceptions import SuspiciousOperation
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from pydantic import ValidationError as PydanticValidationError
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    PayloadTooLargeException,
    ResponseParameters,
    SCIMException,
    SearchRequest,
)

from orgdash.api.parsers import JSONNestedTooDeeply, loads_json
from scim import selectors, services
from scim.authentication import IsScimClient, ScimTokenAuthentication
from scim.filters import parse_filter
from scim.schema import (
    DEFAULT_COUNT,
    MAX_PAYLOAD_BYTES,
    MAX_RESULTS,
    SCIM_NAMES,
    USER_SCHEMA,
    RequestUser,
    patch_without_unstored,
    resource_types,
    service_provider_config,
    user_schema,
    without_unstored,
)

SCIM_MEDIA_TYPE = "application/scim+json"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimRenderer(BaseRenderer):
    media_type = SCIM_MEDIA_TYPE
    format = "scim"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class AlwaysScim(BaseContentNegotiation):
    """Answers are SCIM JSON whatever ``Accept`` says (RFC 7644 §3.1: clients accept it)."""

    def select_parser(self, request, parsers):
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type in ("", SCIM_MEDIA_TYPE, "application/json"):
            return parsers[0]
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ScimParser(BaseParser):
    """A JSON object, at most ``MAX_PAYLOAD_BYTES`` (413 beyond)."""

    media_type = SCIM_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_PAYLOAD_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeException(detail=f"The body is larger than {MAX_PAYLOAD_BYTES} bytes.")
        try:
            data = loads_json(raw.decode("utf-8"))
        except JSONNestedTooDeeply as error:
            raise InvalidSyntaxException(detail=str(error)) from error
        except (UnicodeDecodeError, ValueError) as error:
            raise InvalidSyntaxException(detail=f"The body is not valid JSON: {error}") from error
        if not isinstance(data, dict):
            raise InvalidSyntaxException(detail="The body must be a JSON object.")
        attribute = _nul_attribute(data)
        if attribute is not None:
            # PostgreSQL text cannot hold NUL: refused here, before anything is looked up or stored.
            raise InvalidValueException(detail=f"'{attribute}' cannot contain a NUL character.")
        return data


def _nul_attribute(data, path: str = "") -> str | None:
    """The attribute (as a SCIM path, e.g. ``name.givenName``) of the first string or name in the
    body that holds a NUL character; in a PATCH, named by the operation's ``path``."""
    if isinstance(data, str):
        return (path or "value") if "\x00" in data else None
    if isinstance(data, list):
        return next((found for item in data if (found := _nul_attribute(item, path)) is not None), None)
    if not isinstance(data, dict):
        return None
    operations = data.get("Operations") if not path else None
    for key, value in data.items():
        name = f"{path}.{key}" if path else key
        if "\x00" in key:
            return name.replace("\x00", "\\u0000")
        if key == "Operations" and isinstance(operations, list):
            found = _nul_in_operations(operations)
        else:
            found = _nul_attribute(value, name)
        if found is not None:
            return found
    return None


def _nul_in_operations(operations: list) -> str | None:
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        target = operation.get("path")
        if isinstance(target, str) and "\x00" in target:
            return "path"
        rest = {key: value for key, value in operation.items() if key not in ("path", "value")}
        found = _nul_attribute(rest, "Operations") or _nul_attribute(
            operation.get("value"), target if isinstance(target, str) else ""
        )
        if found is not None:
            return found
    return None


def error_response(*, status_code: int, detail: str, scim_type: str | None = None, headers=None) -> Response:
    body = {"schemas": [ERROR_SCHEMA], "status": str(status_code), "detail": _public_detail(detail)}
    if scim_type:
        body["scimType"] = scim_type
    return Response(body, status=status_code, headers=headers)


_PYTHON_NAMES = re.compile(r"\b(" + "|".join(sorted(SCIM_NAMES, key=len, reverse=True)) + r")\b")


def _public_detail(detail: str) -> str:
    """An error's detail in SCIM's words: attributes by their SCIM names, and without the
    validation library's report around it (model names, error codes, links to its documentation)."""
    detail = _PYTHON_NAMES.sub(lambda match: SCIM_NAMES[match.group(1)], detail)
    if "validation error" not in detail and "pydantic" not in detail:
        return detail
    lines = [line.strip() for line in detail.splitlines()]
    kept = [
        re.sub(r"\s*\[type=[^\]]*\]", "", line)
        for line in lines
        if line and "validation error" not in line and "pydantic" not in line
    ]
    return ": ".join(kept) or "Invalid value."


class ScimView(APIView):
    authentication_classes = [ScimTokenAuthentication]
    permission_classes = [IsScimClient]
    parser_classes = [ScimParser]
    renderer_classes = [ScimRenderer]
    content_negotiation_class = AlwaysScim
    throttle_classes = []
    schema = None  # SCIM publishes its own discovery documents, not the /api/v1/ OpenAPI schema

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_PAYLOAD_BYTES:
            raise PayloadTooLargeException(detail=f"The body is larger than {MAX_PAYLOAD_BYTES} bytes.")

    def handle_exception(self, exc):
        if isinstance(exc, SCIMException):
            error = exc.to_error()
            return error_response(status_code=error.status or 400, detail=error.detail or "", scim_type=error.scim_type)
        if isinstance(exc, PydanticValidationError):
            errors = Error.from_validation_errors(exc)
            first = errors[0] if errors else Error(status=400, detail="Invalid request.")
            return error_response(status_code=400, detail=first.detail or "Invalid request.", scim_type=first.scim_type)
        if isinstance(exc, Http404):
            return error_response(status_code=404, detail="Not found.")
        if isinstance(exc, SuspiciousOperation):  # e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS parameters
            return error_response(status_code=400, detail=str(exc) or "Malformed request.", scim_type="invalidSyntax")
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            return error_response(status_code=401, detail=str(exc.detail), headers={"WWW-Authenticate": "Bearer"})
        if isinstance(exc, exceptions.ParseError):
            return error_response(status_code=400, detail=str(exc.detail), scim_type="invalidSyntax")
        if isinstance(exc, exceptions.APIException):
            return error_response(status_code=exc.status_code, detail=str(exc.detail))
        return super().handle_exception(exc)

    # --- helpers ---

    def base_url(self) -> str:
        return self.request.build_absolute_uri(reverse("scim-root")).rstrip("/")

    def user_location(self, pk) -> str:
        return f"{self.base_url()}/Users/{pk}"

    def ip_address(self) -> str | None:
        return self.request.META.get("REMOTE_ADDR")

    def response_parameters(self) -> ResponseParameters | None:
        attributes = self.request.query_params.get("attributes")
        excluded = self.request.query_params.get("excludedAttributes")
        if not attributes and not excluded:
            return None
        return ResponseParameters[RequestUser].model_validate(
            {"attributes": attributes or None, "excludedAttributes": excluded or None}
        )

    def project(self, resource: dict, parameters: ResponseParameters | None) -> dict:
        """``attributes`` / ``excludedAttributes`` (RFC 7644 §3.9), applied by scim2-models."""
        if parameters is None:
            return resource
        parsed = RequestUser.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        return parsed.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters)

    def user_response(self, membership, *, status_code=status.HTTP_200_OK, location=False) -> Response:
        resource = selectors.user_resource(membership, location=self.user_location(membership.pk))
        headers = {"ETag": resource["meta"]["version"]}
        if location:
            headers["Location"] = resource["meta"]["location"]
        return Response(self.project(resource, self.response_parameters()), status=status_code, headers=headers)


def list_response(resources: list, *, total: int | None = None, start_index: int = 1) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources) if total is None else total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _integer(value: str | None, *, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as error:
        raise InvalidValueException(detail=f"'{name}' must be an integer.") from error


# --- discovery (RFC 7644 §4) ----------------------------------------------------------------


class ServiceProviderConfigView(ScimView):
    def get(self, request):
        documentation = request.build_absolute_uri(reverse("scim-provisioning"))
        return Response(service_provider_config(self.base_url(), documentation).model_dump())


class ResourceTypesView(ScimView):
    def get(self, request, resource_id=None):
        types = [each.model_dump() for each in resource_types(self.base_url())]
        if resource_id is None:
            return Response(list_response(types))
        for each in types:
            if each["id"] == resource_id:
                return Response(each)
        raise NotFoundException(detail=f"No resource type '{resource_id}'.")


class SchemasView(ScimView):
    def get(self, request, schema_id=None):
        schema = user_schema().model_dump()
        schema["meta"] = {"resourceType": "Schema", "location": f"{self.base_url()}/Schemas/{USER_SCHEMA}"}
        if schema_id is None:
            return Response(list_response([schema]))
        if schema_id == USER_SCHEMA:
            return Response(schema)
        raise NotFoundException(detail=f"No schema '{schema_id}'.")


# --- Users (RFC 7644 §3.3-3.6) --------------------------------------------------------------


class UsersView(ScimView):
    def get(self, request):
        params = request.query_params
        return self.page(
            filter_text=params.get("filter"),
            start_index=_integer(params.get("startIndex"), name="startIndex", default=1),
            count=_integer(params.get("count"), name="count", default=DEFAULT_COUNT),
            parameters=self.response_parameters(),
        )

    def page(self, *, filter_text: str | None, start_index: int, count: int, parameters) -> Response:
        where = parse_filter(filter_text) if filter_text else Q()
        start_index = max(start_index, 1)
        count = min(max(count, 0), MAX_RESULTS)
        page = selectors.users_page(where=where, start_index=start_index, count=count, location_of=self.user_location)
        resources = [self.project(resource, parameters) for resource in page.resources]
        return Response(list_response(resources, total=page.total, start_index=start_index))

    def post(self, request):
        user = RequestUser.model_validate(without_unstored(request.data), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        membership = services.user_create(user=user, ip_address=self.ip_address())
        return self.user_response(membership, status_code=status.HTTP_201_CREATED, location=True)


class SearchView(UsersView):
    """``POST /Users/.search`` and ``POST /.search`` (RFC 7644 §3.4.3): Users is the only resource type."""

    http_method_names = ["post"]

    def post(self, request):
        search = SearchRequest[RequestUser].model_validate(request.data, scim_ctx=Context.SEARCH_REQUEST)
        parameters = None
        if search.attributes or search.excluded_attributes:
            parameters = ResponseParameters[RequestUser](
                attributes=search.attributes, excluded_attributes=search.excluded_attributes
            )
        return self.page(
            filter_text=str(search.filter) if search.filter else None,
            start_index=search.start_index or 1,
            count=DEFAULT_COUNT if search.count is None else search.count,
            parameters=parameters,
        )


class UserView(ScimView):
    def get(self, request, resource_id):
        membership = selectors.membership_for_id(resource_id)
        response = self.user_response(membership)
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match and response["ETag"] in {tag.strip() for tag in if_none_match.split(",")}:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": response["ETag"]})
        return response

    def put(self, request, resource_id):
        membership = selectors.membership_for_id(resource_id)
        user = RequestUser.model_validate(without_unstored(request.data), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
        membership = services.user_replace(
            membership=membership, user=user, if_match=request.headers.get("If-Match"), ip_address=self.ip_address()
        )
        return self.user_response(membership)

    def patch(self, request, resource_id):
        membership = selectors.membership_for_id(resource_id)
        body = patch_without_unstored(request.data)
        patch = None  # every operation touched attributes that are not stored
        if body.get("Operations") or not request.data.get("Operations"):
            patch = PatchOp[RequestUser].model_validate(body, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        membership = services.user_patch(
            membership=membership, patch=patch, if_match=request.headers.get("If-Match"), ip_address=self.ip_address()
        )
        return self.user_response(membership)

    def delete(self, request, resource_id):
        membership = selectors.membership_for_id(resource_id)
        services.user_delete(
            membership=membership, if_match=request.headers.get("If-Match"), ip_address=self.ip_address()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotFoundView(ScimView):
    """Any other path under /scim/v2/: a SCIM 404 (after authentication, so nothing leaks)."""

    def get(self, request, rest=""):
        raise NotFoundException(detail=f"No SCIM endpoint '/{rest}'.")

    post = put = patch = delete = get
