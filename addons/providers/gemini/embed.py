"""OpenAI's Embeddings translated to Gemini's batchEmbedContents and back. Pure. Inputs are
text (a string or a list of them); token arrays, which only OpenAI's tokenizer reads, are
refused naming `input`."""

from __future__ import annotations

import base64
import math
import struct

from addons.providers.gemini.usage import gemini_usage
from addons.providers.openai.chat import Refused

_KNOWN = frozenset({"model", "input", "dimensions", "encoding_format", "user"})
MAX_INPUTS = 100  # batchEmbedContents' own limit on requests in one batch


def request(body: dict, model: str) -> dict:
    """The batchEmbedContents request: one embedding request per input, in order."""
    for name in body:
        if name not in _KNOWN:
            raise Refused(f"Unrecognized request argument supplied: {name}", name,
                          "unknown_parameter")
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not texts or not all(
            isinstance(t, str) and t for t in texts):
        raise Refused("input: Gemini's embedding models take text, a non-empty string or a "
                      "list of them (not token arrays).", "input", "unsupported_value")
    if len(texts) > MAX_INPUTS:
        raise Refused(f"input: Gemini's embedding models take at most {MAX_INPUTS} inputs in "
                      "one request; send the rest in another.", "input", "unsupported_value")
    if body.get("encoding_format") not in (None, "float", "base64"):
        raise Refused("encoding_format must be float or base64.", "encoding_format",
                      "invalid_value")
    dims = body.get("dimensions")
    if dims is not None and (not isinstance(dims, int) or isinstance(dims, bool) or dims < 1):
        raise Refused("dimensions must be a positive integer.", "dimensions", "invalid_value")
    one = {"model": f"models/{model}"}
    if dims is not None:
        one["outputDimensionality"] = dims
    return {"requests": [{**one, "content": {"parts": [{"text": t}]}} for t in texts]}


def _unit(values: list) -> list:
    """L2-normalized, as OpenAI's vectors are (Gemini normalizes only its full 3,072)."""
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values] if norm else values


def _encoded(values: list, encoding: str | None):
    if encoding == "base64":  # little-endian float32, as OpenAI sends and its SDKs decode
        return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
    return values


def response(obj: dict, model: str, encoding: str | None, metered: int = 0) -> dict:
    """The embeddings list: each embedding, of unit length, at its input's index; usage from
    usageMetadata (a prompt's tokens, no output), else what the gateway metered."""
    data = [{"object": "embedding", "index": i,
             "embedding": _encoded(_unit((e or {}).get("values") or []), encoding)}
            for i, e in enumerate(obj.get("embeddings") or ())]
    meta = obj.get("usageMetadata")
    tokens = gemini_usage(meta).total_tokens if isinstance(meta, dict) else metered
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
