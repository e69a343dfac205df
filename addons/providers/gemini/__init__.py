"""Google Gemini (Generative Language API), and its OpenAI-compatible API under `openai/`."""

import re
from urllib.parse import unquote_plus

from addons.providers import openai
from addons.providers.base import (
    NO_CREDIT,
    REVOKED,
    ErrorStyle,
    OutputCap,
    Provider,
    QueryRefused,
    body_model,
    endpoint,
    error_of,
    listed,
    proto_int,
    status_fault,
)
from addons.providers.gemini.usage import EMBED, GENERATE
from addons.providers.openai.usage import CHAT as OPENAI_CHAT
from addons.providers.openai.usage import EMBEDDINGS as OPENAI_EMBEDDINGS
from models.keyring import VARIABLES

STATUSES = {
    "invalid_request": "INVALID_ARGUMENT",
    "authentication": "UNAUTHENTICATED",
    "permission": "PERMISSION_DENIED",
    "not_found": "NOT_FOUND",
    "model_not_found": "NOT_FOUND",
    "too_large": "INVALID_ARGUMENT",
    "head_too_large": "INVALID_ARGUMENT",
    "rate_limit": "RESOURCE_EXHAUSTED",
    "quota": "RESOURCE_EXHAUSTED",
    "credit": "RESOURCE_EXHAUSTED",
    "bad_gateway": "UNAVAILABLE",
    "unavailable": "UNAVAILABLE",
    "timeout": "DEADLINE_EXCEEDED",
}


def _error(status, kind, message, extra):
    details = []
    if kind == "authentication":
        details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID", "domain": "googleapis.com"})
    if extra.get("retry_after") is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{int(extra['retry_after'])}s"})
    if kind in ("quota", "credit"):
        details.append({"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{"subject": "monthly tokens" if kind == "quota"
                                        else "prepaid credit",
                                        "description": message}]})
    err = {"code": status, "message": message, "status": STATUSES[kind]}
    if details:
        err["details"] = details
    return {"error": err}


def _fault(status: int, body) -> str | None:
    """A bad or revoked key is a 400 with reason API_KEY_INVALID; a billing precondition is
    out of credit; the rest as every provider."""
    err = error_of(body)
    if status == 400:
        reasons = {d.get("reason") for d in err.get("details") or () if isinstance(d, dict)}
        if "API_KEY_INVALID" in reasons:
            return REVOKED
        if err.get("status") == "FAILED_PRECONDITION" and "billing" in str(
                err.get("message", "")).lower():
            return NO_CREDIT
    return status_fault(status, body)


_MODEL = re.compile(r"(?:models|tunedModels)/([^/:]+)")


def _model_of(path, body):
    m = _MODEL.match(path)
    return m.group(1) if m else None


def _generation_config(body: dict) -> dict:
    """The request's generation config, under whichever spelling the client used (the REST
    API takes camelCase and snake_case alike)."""
    for name in ("generationConfig", "generation_config"):
        cfg = body.get(name)
        if isinstance(cfg, dict):
            return cfg
    cfg = body["generationConfig"] = {}
    return cfg


def _asked(body: dict):
    for name in ("generationConfig", "generation_config"):
        cfg = body.get(name)
        if isinstance(cfg, dict):
            return proto_int(cfg.get("maxOutputTokens") or cfg.get("max_output_tokens"))
    return None


def _apply(body: dict, cap: int) -> None:
    cfg = _generation_config(body)
    cfg["max_output_tokens" if "max_output_tokens" in cfg else "maxOutputTokens"] = cap


def _choices(body: dict) -> int:
    for name in ("generationConfig", "generation_config"):
        cfg = body.get(name)
        if isinstance(cfg, dict):
            return proto_int(cfg.get("candidateCount") or cfg.get("candidate_count")) or 1
    return 1


# Google's system parameters that shape the answer: a field mask (`fields`) can leave
# `usageMetadata` out, and `alt=proto` answers in protobuf, which no parser here reads.
MASKS = frozenset({"fields", "$fields"})
ALTS = frozenset({"alt", "$alt"})
READABLE_ALTS = frozenset({"json", "sse"})


def clean_query(raw: str) -> str:
    """The query without field masks (the answer comes whole: a superset of what was asked);
    `alt` other than json or sse refused."""
    if not raw:
        return raw
    kept = []
    for part in raw.split("&"):
        name, _, value = part.partition("=")
        name = unquote_plus(name)
        if name in MASKS:
            continue
        if name in ALTS and unquote_plus(value).lower() not in READABLE_ALTS:
            raise QueryRefused(f"{name}={unquote_plus(value)} is not available through this "
                               "gateway, which reads each answer's usage: ask for JSON (the "
                               "default) or alt=sse.")
        kept.append(part)
    return "&".join(kept)


GENERATE_OUTPUT = OutputCap(asked=_asked, apply=_apply, choices=_choices)

M = r"models/[A-Za-z0-9._-]+"

# Models that think by default; through the OpenAI-compatible API their thoughts are not shown.
THINKING_MODELS = ("gemini-2.5", "gemini-3", "models/gemini-2.5", "models/gemini-3")

# Gemini's OpenAI-compatible API (v1beta/openai/...): OpenAI's bodies, streams, usage and error
# shape, the credential as a bearer token.
OPENAI_COMPATIBLE = Provider(
    name="gemini",
    upstream="https://generativelanguage.googleapis.com",
    default_version="v1beta",
    versions=frozenset({"v1beta"}),
    endpoints=(
        endpoint("openai.chat.completions", "POST", r"openai/chat/completions",
                 usage=OPENAI_CHAT, output=openai.chat_output("max_tokens")),
        endpoint("openai.embeddings", "POST", r"openai/embeddings", usage=OPENAI_EMBEDDINGS),
        endpoint("openai.models", "GET", r"openai/models(/[^/]+)?", json_body=False,
                 lists_models=listed("data", prefix="models/")),
    ),
    errors=ErrorStyle(openai.error_body),
    credential_in="authorization",
    fault=_fault,
    model_of=body_model,
    query=clean_query,  # Google's system parameters apply here too
    hides_reasoning=lambda body: body.get("reasoning_effort") != "none" and str(
        body.get("model") or "").startswith(THINKING_MODELS),
)

PROVIDER = Provider(
    name="gemini",
    upstream="https://generativelanguage.googleapis.com",
    upstream_env="UPSTREAM_GEMINI_URL",
    credential_env=VARIABLES["gemini"],
    default_version="v1beta",
    versions=frozenset({"v1", "v1beta", "v1alpha"}),
    endpoints=(
        endpoint("generateContent", "POST", M + r":generateContent", usage=GENERATE,
                 output=GENERATE_OUTPUT),
        endpoint("streamGenerateContent", "POST", M + r":streamGenerateContent",
                 usage=GENERATE, streams_by_path=True, output=GENERATE_OUTPUT),
        endpoint("countTokens", "POST", M + r":countTokens", free=True),
        endpoint("embedContent", "POST", M + r":(?:embedContent|batchEmbedContents)",
                 usage=EMBED),
        endpoint("models", "GET", r"models(/[A-Za-z0-9._-]+)?", json_body=False,
                 lists_models=listed("models", prefix="models/")),
    ),
    errors=ErrorStyle(_error),
    credential_in="?key",
    fault=_fault,
    query=clean_query,
    model_of=_model_of,
    forward_headers=frozenset({"x-goog-api-client", "x-server-timeout"}),
    dialects={"openai": OPENAI_COMPATIBLE},
)
