"""OpenAI's stored chat completions, told apart per customer: OpenAI keeps them under the
business's one account, so the gateway writes the customer in each one's `metadata` when it is
stored or updated, filters every list by it, and takes it out of what the customer reads. Pure.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, urlencode

from addons.providers.openai.chat import Refused
from addons.wire.bodies import RawJSON

KEY = "llm_gateway_customer"  # the operator can filter by it in OpenAI's dashboard too
_KEY_BYTES = KEY.encode()
_FILTER = f"metadata[{KEY}]"
MAX_KEYS = 16  # OpenAI's limit on metadata pairs: the customer has one fewer


def _tag(body: dict, tag: str, where: str) -> bool:
    metadata = body.get("metadata")
    if isinstance(metadata, RawJSON):  # a large body's, kept as its text
        metadata = metadata.load()
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise Refused(f"{where} must be an object of strings.", where, "invalid_type")
    if KEY in metadata:
        raise Refused(f"{where}.{KEY}: this key is the gateway's own; use another.",
                      f"{where}.{KEY}", "invalid_value")
    if len(metadata) >= MAX_KEYS:
        raise Refused(f"{where}: at most {MAX_KEYS - 1} keys through this gateway (it keeps "
                      "one for itself).", where, "invalid_value")
    body["metadata"] = {**metadata, KEY: tag}
    return True


def tag_created(body: dict, tag: str) -> bool:
    """A chat completion to be stored (`store: true`) carries its customer; whether the body
    changed. Raises Refused for metadata the tag cannot join."""
    return body.get("store") is True and _tag(body, tag, "metadata")


def tag_updated(body: dict, tag: str) -> bool:
    """An update (it replaces the metadata whole) keeps the customer in it."""
    return _tag(body, tag, "metadata")


def filter_listed(query: str, tag: str) -> str:
    """A list's query with the customer's filter in, in place of any the caller gave for the
    gateway's key (the list's own filters, `metadata[k]=v`, stay and narrow it further)."""
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != _FILTER]
    return urlencode([*pairs, (_FILTER, tag)], quote_via=quote)


def untag(content: bytes) -> bytes | None:
    """An answer (one stored completion, or a list of them) without the gateway's key in
    their metadata; None when it holds none (most answers: not parsed)."""
    if _KEY_BYTES not in content:
        return None
    try:
        obj = json.loads(content)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    items = obj.get("data") if obj.get("object") == "list" else [obj]
    for item in items if isinstance(items, list) else ():
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if isinstance(metadata, dict):
            metadata.pop(KEY, None)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
