"""Domain errors carry no HTTP; the API's exception handler is the one place that maps them."""

import pytest

from orgdash.api.errors import exception_handler
from orgdash.errors import Conflict, DomainError, InvalidInput, NotFound


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (Conflict("Keep one admin."), 409, {"detail": "Keep one admin."}),
        (Conflict(), 409, {"detail": "The request conflicts with the current state."}),
        (NotFound("No such invite."), 404, {"detail": "No such invite."}),
        (
            InvalidInput(errors={"emails": ["Give at least one e-mail address."]}),
            400,
            {
                "detail": "Give at least one e-mail address.",
                "errors": {"emails": ["Give at least one e-mail address."]},
            },
        ),
        (
            InvalidInput("Bad slug."),
            400,
            {"detail": "Bad slug.", "errors": {"non_field_errors": ["Bad slug."]}},
        ),
        (
            DomainError("Cannot do that now."),
            400,
            {"detail": "Cannot do that now.", "errors": {"non_field_errors": ["Cannot do that now."]}},
        ),
    ],
)
def test_each_domain_error_becomes_one_status_and_the_api_error_shape(error, status, body):
    response = exception_handler(error, {})

    assert response.status_code == status
    assert response.data == body


def test_domain_errors_keep_a_machine_code_and_the_message_as_text():
    error = InvalidInput(errors={"role": ["'owner' is not a role."]})

    assert (error.code, error.message, str(error)) == ("invalid", "'owner' is not a role.", "'owner' is not a role.")
    assert Conflict("x", code="last_admin").code == "last_admin"
    assert NotFound().code == "not_found"
