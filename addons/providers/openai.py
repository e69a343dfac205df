"""OpenAI: Chat Completions, Responses, Embeddings, Models."""

from .base import ErrorStyle, Provider, body_model, endpoint, first_int

ERROR_CODES = {
    "invalid_request": ("invalid_request_error", None),
    "authentication": ("invalid_request_error", "invalid_api_key"),
    "permission": ("invalid_request_error", "model_not_found"),
    "not_found": ("invalid_request_error", "unknown_url"),
    "too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "quota": ("insufficient_quota", "insufficient_quota"),
    "bad_gateway": ("server_error", "bad_gateway"),
    "unavailable": ("server_error", "server_is_overloaded"),
    "timeout": ("server_error", "timeout"),
}


def _error(status, kind, message, extra):
    type_, code = ERROR_CODES[kind]
    return {"error": {"message": message, "type": type_, "param": extra.get("param"),
                      "code": code}}



PROVIDER = Provider(
    name="openai",
    upstream="https://api.openai.com",
    default_version="v1",
    versions=frozenset({"v1"}),
    endpoints=(
        endpoint("chat.completions", "POST", r"chat/completions", usage="openai.chat"),
        endpoint("responses.input_tokens", "POST", r"responses/input_tokens", free=True),
        endpoint("responses", "POST", r"responses", usage="openai.responses"),
        endpoint("responses.get", "GET DELETE", r"responses/[^/]+", json_body=False),
        endpoint("responses.cancel", "POST", r"responses/[^/]+/cancel", json_body=False),
        endpoint("embeddings", "POST", r"embeddings", usage="openai.embeddings"),
        endpoint("models", "GET", r"models(/[^/]+)?", json_body=False),
    ),
    errors=ErrorStyle(_error),
    credential_in="authorization",
    model_of=body_model,
    max_output=lambda body: first_int(body, "max_completion_tokens", "max_tokens",
                                      "max_output_tokens"),
    # Organisation and project pick the business's billing account upstream, not the customer's.
    strip_headers=("openai-organization", "openai-project"),
)
