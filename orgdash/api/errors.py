"""One error shape for the whole API: ``{"detail": "..."}`` plus ``"errors"`` for validation.

The one place where domain errors (``orgdash.errors``) become HTTP statuses.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from orgdash import errors as domain


class ErrorSerializer(serializers.Serializer):
    """The API's one error shape."""

    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by field (400 only).",
    )


def documented_error(description: str) -> OpenApiResponse:
    """An error response for ``extend_schema(responses=...)``: the one error shape, explained."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self):
        super().__init__(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")


def _from_domain(exc: domain.DomainError) -> exceptions.APIException:
    if isinstance(exc, domain.InvalidInput):
        return exceptions.ValidationError(exc.errors, code=exc.code)
    if isinstance(exc, domain.NotFound):
        return exceptions.NotFound(exc.message, code=exc.code)
    if isinstance(exc, domain.Conflict):
        return Conflict(exc.message, code=exc.code)
    return exceptions.ValidationError({"non_field_errors": [exc.message]}, code=exc.code)


def _flatten(detail):
    """``{"field": ["message", ...]}``, one level deep whatever DRF nested: a list item's errors
    (keyed by index) become "Item N: message" under the list's field, a nested object's errors
    are keyed "field.subfield"."""
    if not isinstance(detail, dict):
        return {"non_field_errors": _messages(detail)}
    errors: dict[str, list[str]] = {}
    for key, value in detail.items():
        _collect(errors, str(key), value)
    return errors


def _collect(errors: dict, field: str, value, prefix: str = "") -> None:
    if isinstance(value, dict):
        for key, nested in value.items():
            if isinstance(key, int) or str(key).isdigit():
                _collect(errors, field, nested, f"{prefix}Item {int(key) + 1}: ")
            else:
                _collect(errors, f"{field}.{key}", nested, prefix)
        return
    for index, item in enumerate(_as_list(value)):
        if isinstance(item, dict) and item:  # a list of objects: DRF gives one dict per item
            _collect(errors, field, {index: item}, prefix)
        elif isinstance(item, list):
            _collect(errors, field, item, prefix)
        elif not isinstance(item, dict):
            errors.setdefault(field, []).append(prefix + str(item))


def _messages(value) -> list[str]:
    collected: dict[str, list[str]] = {}
    _collect(collected, "non_field_errors", value)
    return collected.get("non_field_errors", [])


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _first_message(errors) -> str:
    """The first message in nested errors (a list field's errors are keyed by item index)."""
    values = errors.values() if isinstance(errors, dict) else errors if isinstance(errors, list) else None
    if values is None:
        return str(errors)
    for value in values:
        message = _first_message(value)
        if message:
            return message
    return ""


def exception_handler(exc, context):
    if isinstance(exc, domain.DomainError):
        exc = _from_domain(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):  # Django refuses to read a body over the limit
        exc = BodyTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # e.g. more than DATA_UPLOAD_MAX_NUMBER_FIELDS parameters
        exc = exceptions.ParseError(str(exc) or "Malformed request.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):  # a model validator; services raise domain errors
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        response.data = {"detail": _first_message(errors) or "Invalid input.", "errors": errors}
    else:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        response.data = {"detail": str(detail)}
    if response.status_code == 401 and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = "Bearer"
    return Response(response.data, status=response.status_code, headers=dict(response.items()))


def document_body_limit(result, generator, request, public):
    """Schema post-processing hook: every operation that takes a body may answer 413."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault(
                    "413",
                    {
                        "description": f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                )
    return result
