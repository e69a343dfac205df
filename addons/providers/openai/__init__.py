"""OpenAI: Chat Completions, Responses, Embeddings, Models."""

import re

from addons.providers.base import (
    NO_CREDIT,
    ErrorStyle,
    OutputCap,
    Provider,
    Tagged,
    always,
    body_model,
    endpoint,
    error_of,
    first_int,
    listed,
    positive_int,
    status_fault,
)
from addons.providers.openai import stored
from addons.providers.openai.usage import CHAT, COMPACT, EMBEDDINGS, RESPONSES
from addons.wire.bodies import RawJSON
from models.keyring import VARIABLES

ERROR_CODES = {
    "invalid_request": ("invalid_request_error", None),
    "authentication": ("invalid_request_error", "invalid_api_key"),
    "permission": ("invalid_request_error", None),
    "not_found": ("invalid_request_error", "unknown_url"),
    "model_not_found": ("invalid_request_error", "model_not_found"),
    "too_large": ("invalid_request_error", "request_too_large"),
    "head_too_large": ("invalid_request_error", "request_header_fields_too_large"),
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "quota": ("insufficient_quota", "insufficient_quota"),
    "credit": ("insufficient_quota", "insufficient_quota"),
    "bad_gateway": ("server_error", "bad_gateway"),
    "unavailable": ("server_error", "server_is_overloaded"),
    "timeout": ("server_error", "timeout"),
}


def error_body(status, kind, message, extra):
    type_, code = ERROR_CODES[kind]
    return {"error": {"message": message, "type": type_, "param": extra.get("param"),
                      "code": extra.get("code", code)}}


def fault(status: int, body) -> str | None:
    """Out of credit is a 429 `insufficient_quota`: not a rate limit, it does not pass."""
    err = error_of(body)
    if status == 429 and "insufficient_quota" in (err.get("code"), err.get("type")):
        return NO_CREDIT
    return status_fault(status, body)


def chat_output(default_field: str) -> OutputCap:
    """Chat Completions' cap: `max_completion_tokens`, or the older `max_tokens` where the
    client used it (or where the API takes only that); `n` answers, each up to it."""

    def apply(body: dict, cap: int) -> None:
        if "max_completion_tokens" in body or "max_tokens" in body:
            for name in ("max_completion_tokens", "max_tokens"):
                if name in body:
                    body[name] = cap
        else:
            body[default_field] = cap

    return OutputCap(
        asked=lambda body: first_int(body, "max_completion_tokens", "max_tokens"),
        apply=apply,
        choices=lambda body: positive_int(body.get("n")) or 1,
    )


RESPONSES_OUTPUT = OutputCap(
    asked=lambda body: positive_int(body.get("max_output_tokens")),
    apply=lambda body, cap: body.__setitem__("max_output_tokens", cap),
    least=lambda body: 16,  # the API's own minimum for max_output_tokens
)

_STORED_ID = re.compile(r"(?:responses|chat/completions)/([^/]+)")


def _named(path: str, body) -> tuple[str, ...]:
    """The stored response or chat completion a path names."""
    m = _STORED_ID.match(path)
    return (m.group(1),) if m else ()


def _stores(body) -> bool:
    return isinstance(body, dict) and body.get("store") is True


def _continued(path: str, body) -> tuple[str, ...]:
    """What a new response continues: a stored response, a stored conversation (none is
    created through the gateway, so any named is refused), and the code interpreter's
    containers it names to run in (its files are the customer's who ran there first)."""
    if not isinstance(body, dict):
        return ()
    conv = body.get("conversation")
    conv = conv.get("id") if isinstance(conv, dict) else conv
    tools = body.get("tools")
    if isinstance(tools, RawJSON):  # a large list, kept as its text (bodies.read_shallow):
        tools = tools.load() if tools.holds(b'"code_interpreter"') else ()  # read on need
    containers = [t.get("container") for t in tools if isinstance(t, dict)
                  and t.get("type") == "code_interpreter"] if isinstance(tools, list) else []
    return tuple(v for v in (body.get("previous_response_id"), conv, *containers)
                 if isinstance(v, str) and v)


# OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 and its minis, codex), not gpt-5-chat.
_REASONING_MODEL = re.compile(r"(?:o\d|gpt-5(?!(?:\.\d+)?-chat)|codex)")


def hides_reasoning(body: dict) -> bool:
    """Whether the request reasons out of sight: a reasoning model, or reasoning asked for,
    unless it asked for none."""
    effort = body.get("reasoning_effort")
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        effort = reasoning.get("effort", effort)
    if effort == "none":
        return False
    model = body.get("model")
    return bool(effort) or isinstance(model, str) and bool(_REASONING_MODEL.match(model))


# Processing tiers served: the default, flex (cheaper: the catalog's flex prices, else the
# standard ones) and priority (dearer: only where the catalog prices it, see Provider). Scale
# Tier is a contract of the business's, not a customer's to choose.
TIERS = (None, "auto", "default", "flex", "priority")


def tier_of(body: dict) -> str | None:
    tier = body.get("service_tier")
    return tier if isinstance(tier, str) else None


def _refuse(path: str, body: dict):
    if body.get("service_tier") not in TIERS:
        return ("service_tier: this gateway serves 'auto', 'default', 'flex' and 'priority' "
                "(where the model has a priority price); leave it out for the default.",
                "service_tier")
    if path == "responses" and body.get("background") not in (None, False):
        # A background response is generated after the POST has been answered, and its usage
        # is only seen if someone fetches it later: tokens nobody might pay for.
        return ("Background responses (background: true) are not available through this "
                "gateway: send the request without it, streaming (stream: true) for long "
                "tasks.", "background")
    return None


PROVIDER = Provider(
    name="openai",
    upstream="https://api.openai.com",
    upstream_env="UPSTREAM_OPENAI_URL",
    credential_env=VARIABLES["openai"],
    default_version="v1",
    versions=frozenset({"v1"}),
    endpoints=(
        endpoint("chat.completions", "POST", r"chat/completions", usage=CHAT,
                 output=chat_output("max_completion_tokens"), creates=_stores,
                 tagged=Tagged(body=stored.tag_created)),
        # Stored chat completions: listed by the caller's tag, each read only by its owner.
        endpoint("chat.completions.list", "GET", r"chat/completions", json_body=False,
                 tagged=Tagged(query=stored.filter_listed, answer=stored.untag)),
        endpoint("chat.completions.get", "GET DELETE", r"chat/completions/[^/]+",
                 json_body=False, refers=_named, tagged=Tagged(answer=stored.untag)),
        endpoint("chat.completions.update", "POST", r"chat/completions/[^/]+", refers=_named,
                 tagged=Tagged(body=stored.tag_updated, answer=stored.untag)),
        endpoint("chat.completions.messages", "GET", r"chat/completions/[^/]+/messages",
                 json_body=False, refers=_named),
        endpoint("responses.input_tokens", "POST", r"responses/input_tokens", free=True,
                 refers=_continued),
        # Compaction (Codex's long conversations): charged as the response it is; not stored.
        endpoint("responses.compact", "POST", r"responses/compact", usage=COMPACT,
                 refers=_continued),
        endpoint("responses", "POST", r"responses", usage=RESPONSES,
                 output=RESPONSES_OUTPUT, refers=_continued, creates=always),
        endpoint("responses.get", "GET DELETE", r"responses/[^/]+", json_body=False,
                 refers=_named),
        endpoint("responses.input_items", "GET", r"responses/[^/]+/input_items",
                 json_body=False, refers=_named),
        endpoint("responses.cancel", "POST", r"responses/[^/]+/cancel", json_body=False,
                 refers=_named),
        endpoint("embeddings", "POST", r"embeddings", usage=EMBEDDINGS),
        endpoint("models", "GET", r"models(/[^/]+)?", json_body=False,
                 lists_models=listed("data")),
    ),
    errors=ErrorStyle(error_body),
    credential_in="authorization",
    fault=fault,
    model_of=body_model,
    # Not openai-organization / openai-project: they pick the billing account upstream, which
    # is the business's, not the customer's.
    forward_headers=frozenset({"openai-beta"}),
    upstream_only=("openai-organization", "openai-project", "x-ratelimit-"),
    refuse=_refuse,
    hides_reasoning=hides_reasoning,
    tier_of=tier_of,
    surcharged_tiers=frozenset({"priority"}),
)
