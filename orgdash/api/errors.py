"""One error shape for the whole API: ``{"detail": "..."}`` plus ``"errors"`` for validation."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def _flatten(detail):
    if isinstance(detail, dict):
        return {
            key: _flatten(value) if isinstance(value, dict) else [str(v) for v in _as_list(value)]
            for key, value in detail.items()
        }
    return {"non_field_errors": [str(v) for v in _as_list(detail)]}


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
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):  # raised by services
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
