"""Google Gemini (Generative Language API)."""

import re

from .base import ErrorStyle, Provider, endpoint

STATUSES = {
    "invalid_request": "INVALID_ARGUMENT",
    "authentication": "UNAUTHENTICATED",
    "permission": "PERMISSION_DENIED",
    "not_found": "NOT_FOUND",
    "too_large": "INVALID_ARGUMENT",
    "rate_limit": "RESOURCE_EXHAUSTED",
    "quota": "RESOURCE_EXHAUSTED",
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
    if kind == "quota":
        details.append({"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [{"subject": "monthly tokens",
                                        "description": message}]})
    err = {"code": status, "message": message, "status": STATUSES[kind]}
    if details:
        err["details"] = details
    return {"error": err}



_MODEL = re.compile(r"(?:models|tunedModels)/([^/:]+)")


def _model_of(path, body):
    m = _MODEL.match(path)
    return m.group(1) if m else None


def _max_output(body):
    cfg = body.get("generationConfig") or body.get("generation_config") or {}
    v = cfg.get("maxOutputTokens") if isinstance(cfg, dict) else None
    return v if isinstance(v, int) and v > 0 else None


M = r"models/[A-Za-z0-9._-]+"

PROVIDER = Provider(
    name="gemini",
    upstream="https://generativelanguage.googleapis.com",
    default_version="v1beta",
    versions=frozenset({"v1", "v1beta", "v1alpha"}),
    endpoints=(
        endpoint("generateContent", "POST", M + r":generateContent", usage="gemini.generate"),
        endpoint("streamGenerateContent", "POST", M + r":streamGenerateContent",
                 usage="gemini.generate", streams_by_path=True),
        endpoint("countTokens", "POST", M + r":countTokens", free=True),
        endpoint("embedContent", "POST", M + r":(?:embedContent|batchEmbedContents)",
                 usage="gemini.embed"),
        endpoint("models", "GET", r"models(/[A-Za-z0-9._-]+)?", json_body=False),
    ),
    errors=ErrorStyle(_error),
    credential_in="?key",
    model_of=_model_of,
    max_output=_max_output,
)
