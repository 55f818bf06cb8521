"""The exception tree: classes per status and error type, hints, both request ids."""

from __future__ import annotations

import pickle

import pytest

from claude_foundry import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    NotSupportedOnFoundryError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
)
from claude_foundry._errors import error_class_for_status, hint_for, make_status_error
from claude_foundry.types import STATUS_BY_ERROR_TYPE

ANTHROPIC_429 = {
    "type": "error",
    "error": {"type": "rate_limit_error", "message": "Rate limit exceeded"},
    "request_id": "req_1",
}
AZURE_401 = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint.",
    }
}
AZURE_DEPLOYMENT_NOT_FOUND = {
    "error": {
        "type": "invalid_request_error",
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist.",
    }
}
AZURE_API_NOT_SUPPORTED = {
    "error": {
        "code": "api_not_supported",
        "message": "Requested API is currently not supported",
        "details": "Requested API is currently not supported",
    }
}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, ServiceUnavailableError),
        (529, OverloadedError),
        (418, APIStatusError),
    ],
)
def test_each_status_has_the_official_class(status: int, cls: type[APIStatusError]) -> None:
    assert error_class_for_status(status) is cls


def test_an_anthropic_body_fills_type_message_and_ids() -> None:
    err = make_status_error(429, ANTHROPIC_429, request_id="req_1", apim_request_id="apim-1")
    assert isinstance(err, RateLimitError)
    assert (err.status_code, err.type, err.api_message) == (
        429,
        "rate_limit_error",
        "Rate limit exceeded",
    )
    assert (err.request_id, err.apim_request_id) == ("req_1", "apim-1")
    assert "quota" in err.hint
    assert "req_1" in str(err)
    assert "apim-1" in str(err)
    assert "Hint:" in str(err)


def test_an_azure_401_body_is_understood() -> None:
    err = make_status_error(401, AZURE_401)
    assert isinstance(err, AuthenticationError)
    assert err.type is None
    assert err.code == "401"
    assert err.api_message is not None
    assert err.api_message.startswith("Access denied")
    assert "expired" in err.hint


def test_deployment_not_found_says_to_use_the_deployment_name() -> None:
    err = make_status_error(404, AZURE_DEPLOYMENT_NOT_FOUND)
    assert isinstance(err, NotFoundError)
    assert err.code == "DeploymentNotFound"
    assert "deployment name" in err.hint


def test_api_not_supported_points_at_the_base_url() -> None:
    err = make_status_error(404, AZURE_API_NOT_SUPPORTED)
    assert err.details == "Requested API is currently not supported"
    assert "/anthropic/" in err.hint


def test_403_names_the_rbac_roles() -> None:
    assert "Cognitive Services User" in hint_for(403)
    assert "Foundry User" in hint_for(403)


@pytest.mark.parametrize(("error_type", "status"), sorted(STATUS_BY_ERROR_TYPE.items()))
def test_an_in_stream_error_takes_the_status_of_its_type(error_type: str, status: int) -> None:
    body = {"type": "error", "error": {"type": error_type, "message": "x"}}
    err = make_status_error(200, body, request_id="req_s", in_stream=True)
    assert err.status_code == status
    assert err.in_stream
    assert isinstance(err, error_class_for_status(status))
    assert "in stream" in str(err)


def test_an_unknown_in_stream_type_is_a_server_error() -> None:
    body = {"type": "error", "error": {"type": "brand_new_error", "message": "x"}}
    err = make_status_error(200, body, in_stream=True)
    assert isinstance(err, InternalServerError)


def test_a_non_json_body_is_kept_as_text() -> None:
    err = make_status_error(502, "<html>Bad gateway</html>")
    assert err.body == "<html>Bad gateway</html>"
    assert "Bad gateway" in str(err)


def test_error_code_comes_from_details() -> None:
    body = {
        "error": {"type": "rate_limit_error", "message": "x", "details": {"error_code": "ramp"}}
    }
    assert make_status_error(429, body).error_code == "ramp"


def test_configuration_and_unsupported_errors_subclass_the_natural_builtins() -> None:
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(NotSupportedOnFoundryError, NotImplementedError)


def test_status_errors_survive_pickling() -> None:
    err = make_status_error(529, {"type": "error", "error": {"type": "overloaded_error"}})
    clone = pickle.loads(pickle.dumps(err))
    assert str(clone) == str(err)
