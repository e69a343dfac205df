"""Anthropic Messages API."""

from addons.providers.anthropic.usage import MESSAGES
from addons.providers.base import (
    NO_CREDIT,
    ErrorStyle,
    OutputCap,
    Provider,
    body_model,
    endpoint,
    error_of,
    listed,
    positive_int,
    status_fault,
)
from models.keyring import VARIABLES

ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "permission": "permission_error",
    "not_found": "not_found_error",
    "model_not_found": "not_found_error",
    "too_large": "request_too_large",
    "head_too_large": "invalid_request_error",
    "rate_limit": "rate_limit_error",
    "quota": "rate_limit_error",
    "credit": "billing_error",
    "bad_gateway": "api_error",
    "unavailable": "overloaded_error",
    "timeout": "timeout_error",
}

def _fault(status: int, body) -> str | None:
    """Out of credit is a 400 ("credit balance is too low") or a 429 with the spend limit's
    error code; the rest as every provider."""
    err = error_of(body)
    if status == 400 and "credit balance" in str(err.get("message", "")).lower():
        return NO_CREDIT
    details = err.get("details")
    if status == 429 and isinstance(details, dict) and details.get(
            "error_code") == "enforced_spend_limit_reached":
        return NO_CREDIT
    return status_fault(status, body)


THINKING_MIN_BUDGET = 1024  # the API refuses a smaller thinking.budget_tokens


def _error(status, kind, message, extra):
    return {"type": "error", "error": {"type": ERROR_TYPES[kind], "message": message},
            "request_id": extra.get("request_id")}


def _thinking_budget(body: dict) -> int | None:
    t = body.get("thinking")
    if isinstance(t, dict) and t.get("type") == "enabled":
        return positive_int(t.get("budget_tokens"))
    return None


def _cap(body: dict, cap: int) -> None:
    """max_tokens lowered (or set); thinking's budget kept below it, as the API requires."""
    body["max_tokens"] = cap
    budget = _thinking_budget(body)
    if budget is not None and budget >= cap:
        body["thinking"] = {**body["thinking"], "budget_tokens": cap - 1}


MESSAGES_OUTPUT = OutputCap(
    asked=lambda body: positive_int(body.get("max_tokens")),
    apply=_cap,
    least=lambda body: THINKING_MIN_BUDGET + 1 if _thinking_budget(body) else 1,
)

PROVIDER = Provider(
    name="anthropic",
    upstream="https://api.anthropic.com",
    upstream_env="UPSTREAM_ANTHROPIC_URL",
    credential_env=VARIABLES["anthropic"],
    default_version="v1",
    versions=frozenset({"v1"}),
    endpoints=(
        endpoint("messages", "POST", r"messages", usage=MESSAGES,
                 output=MESSAGES_OUTPUT),
        endpoint("count_tokens", "POST", r"messages/count_tokens", free=True),
        endpoint("models", "GET", r"models(/[^/]+)?", json_body=False,
                 lists_models=listed("data", first_last=True)),
    ),
    # Out of prepaid credit is Anthropic's own 402 billing_error, which its SDK does not retry.
    errors=ErrorStyle(_error, {"credit": 402}),
    credential_in="x-api-key",
    fault=_fault,
    model_of=body_model,
    forward_headers=frozenset({"anthropic-version", "anthropic-beta"}),
    upstream_only=("anthropic-organization-id", "anthropic-ratelimit-", "anthropic-priority-"),
    # The API refuses requests without a version; clients that omit it get the stable one.
    default_headers={"anthropic-version": "2023-06-01"},
)
