"""Anthropic Messages API."""

from .base import ErrorStyle, Provider, body_model, endpoint, first_int

ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "too_large": "request_too_large",
    "rate_limit": "rate_limit_error",
    "quota": "rate_limit_error",
    "bad_gateway": "api_error",
    "unavailable": "overloaded_error",
    "timeout": "timeout_error",
}


def _error(status, kind, message, extra):
    return {"type": "error", "error": {"type": ERROR_TYPES[kind], "message": message},
            "request_id": extra.get("request_id")}



PROVIDER = Provider(
    name="anthropic",
    upstream="https://api.anthropic.com",
    default_version="v1",
    versions=frozenset({"v1"}),
    endpoints=(
        endpoint("messages", "POST", r"messages", usage="anthropic.messages"),
        endpoint("count_tokens", "POST", r"messages/count_tokens", free=True),
        endpoint("models", "GET", r"models(/[^/]+)?", json_body=False),
    ),
    errors=ErrorStyle(_error),
    credential_in="x-api-key",
    model_of=body_model,
    max_output=lambda body: first_int(body, "max_tokens"),
    # The API refuses requests without a version; clients that omit it get the stable one.
    default_headers={"anthropic-version": "2023-06-01"},
)
