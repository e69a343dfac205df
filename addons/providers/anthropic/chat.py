"""Chat Completions translated to Anthropic's Messages and back: the request, the answer,
the stream (incremental: fed the native bytes as they arrive, split anywhere) and the errors.
Pure. What cannot be honoured is refused (`Refused`: OpenAI's 400 naming the parameter),
never dropped; the table of each parameter is in docs/unified-api.md."""

from __future__ import annotations

import hashlib
import json
import re
import time

from addons.providers.anthropic.usage import AnthropicStream, anthropic_usage
from addons.providers.openai import chat
from addons.providers.openai.chat import Refused

DEFAULT_MAX_TOKENS = 4096  # when the client sets no cap (Anthropic requires one)
_IDS = re.compile(r"[^A-Za-z0-9_-]")
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_DATA_URL = re.compile(r"data:([\w/+.-]+);base64,(.*)", re.S)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# Thinking budgets for models that take a budget (before the 4.6 generation).
BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192,
           "max": 16384}
_ADAPTIVE = re.compile(r"claude-(?:opus|sonnet|haiku)-(?:4-[6-9]|[5-9])")
EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high",
           "xhigh": "xhigh", "max": "max"}
FORMAT = "anthropic-claude-v1"  # reasoning_details entries minted here

# Stop reasons: one table (docs/unified-api.md). A tool turn is always tool_calls.
FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls",
          "max_tokens": "length", "model_context_window_exceeded": "length",
          "refusal": "content_filter", "pause_turn": "length"}

# Fields refused for Claude (unless false or absent); those with no effect on the answer
# (metadata, prompt_cache_key) are dropped; any other unknown field is refused.
_REFUSED = frozenset({"logprobs", "top_logprobs", "seed", "logit_bias", "presence_penalty",
                      "frequency_penalty", "prediction", "verbosity", "web_search_options",
                      "moderation", "audio", "functions", "function_call",
                      "prompt_cache_options", "prompt_cache_retention"})
_KNOWN = chat.COMMON | _REFUSED


def sanitize_id(value: str) -> str:
    """A tool-call id as Anthropic takes it: foreign characters as `_`, the same on both
    sides of a call and its result."""
    return _IDS.sub("_", value) or "call"


def _cache(block: dict, source: dict) -> dict:
    cc = source.get("cache_control")
    if isinstance(cc, dict):
        block["cache_control"] = cc
    return block


def _image(url: str, where: str) -> dict:
    m = _DATA_URL.match(url)
    if m:
        if m[1] not in IMAGE_TYPES:
            raise Refused(f"{where}: Claude takes JPEG, PNG, GIF and WebP images, not {m[1]}.",
                          where, "unsupported_value")
        return {"type": "image", "source": {"type": "base64", "media_type": m[1],
                                            "data": m[2]}}
    if url.startswith("https://"):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise Refused(f"{where}: an image must be a data: URL or an https:// URL.", where,
                  "unsupported_value")


def _user_blocks(content, where: str) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise Refused(f"{where} must be a string or a list of parts.", where)
    blocks = []
    for i, part in enumerate(content):
        at = f"{where}[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            if part["text"]:
                blocks.append(_cache({"type": "text", "text": part["text"]}, part))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise Refused(f"{at}.image_url.url must be a string.", f"{at}.image_url")
            blocks.append(_cache(_image(url, f"{at}.image_url"), part))
        elif kind == "file" and isinstance(part.get("file"), dict) \
                and isinstance(part["file"].get("file_data"), str):
            m = _DATA_URL.match(part["file"]["file_data"])
            if not m or m[1] != "application/pdf":
                raise Refused(f"{at}.file: Claude takes PDF files as data: URLs.", f"{at}.file",
                              "unsupported_value")
            blocks.append(_cache({"type": "document", "source": {
                "type": "base64", "media_type": "application/pdf", "data": m[2]}}, part))
        else:
            raise Refused(f"{at}: parts of type {kind!r} are not available for Claude models "
                          "(text, image_url and PDF files are).", at, "unsupported_value")
    return blocks


def _reasoning_blocks(message: dict) -> list[dict]:
    """An assistant turn's reasoning_details (or LiteLLM's thinking_blocks) back to thinking
    blocks, signatures verbatim; entries minted for another provider are left out."""
    blocks = []
    for d in message.get("reasoning_details") or ():
        if not isinstance(d, dict) or d.get("format") not in (FORMAT, None):
            continue
        if d.get("type") == "reasoning.text" and isinstance(d.get("signature"), str):
            blocks.append({"type": "thinking", "thinking": d.get("text") or "",
                           "signature": d["signature"]})
        elif d.get("type") == "reasoning.encrypted" and isinstance(d.get("data"), str):
            blocks.append({"type": "redacted_thinking", "data": d["data"]})
    for b in message.get("thinking_blocks") or ():
        if isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking"):
            blocks.append(b)
    return blocks


def _assistant_blocks(message: dict, where: str, names: set) -> list[dict]:
    blocks = _reasoning_blocks(message)
    text = chat.text_of(message.get("content"), f"{where}.content")
    if text:
        blocks.append({"type": "text", "text": text})
    for j, call in enumerate(message.get("tool_calls") or ()):
        at = f"{where}.tool_calls[{j}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) \
                or not isinstance(call.get("id"), str):
            raise Refused(f"{at} needs an id and a function with a name.", at)
        args = fn.get("arguments") or "{}"
        try:
            parsed = json.loads(args) if isinstance(args, str) else args
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise Refused(f"{at}.function.arguments must be a JSON object.",
                          f"{at}.function.arguments")
        names.add(fn["name"])
        blocks.append({"type": "tool_use", "id": sanitize_id(call["id"]), "name": fn["name"],
                       "input": parsed})
    return blocks


def _messages(messages) -> tuple[list[dict], list[dict], set, bool]:
    """The system blocks (every system and developer message, in order, hoisted), the
    alternating turns, the tool names the history uses, and whether it replays reasoning."""
    if not isinstance(messages, list) or not messages:
        raise Refused("messages must be a non-empty list.", "messages")
    system, turns, names, replayed = [], [], set(), False

    def add(role: str, blocks: list[dict], tool_results: bool = False) -> None:
        if not blocks:
            return
        if turns and turns[-1]["role"] == role:
            if tool_results:  # results first in the turn that answers the calls
                turns[-1]["content"][:0] = blocks
            else:
                turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})

    pending_results: list[dict] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        role = m.get("role") if isinstance(m, dict) else None
        if role != "tool" and pending_results:
            add("user", pending_results, tool_results=True)
            pending_results = []
        if role in ("system", "developer"):
            text = chat.text_of(m.get("content"), f"{where}.content")
            if text:
                system.append(_cache({"type": "text", "text": text}, m))
        elif role == "user":
            blocks = _user_blocks(m.get("content"), f"{where}.content")
            if blocks and isinstance(m.get("cache_control"), dict):
                blocks[-1]["cache_control"] = m["cache_control"]
            add("user", blocks)
        elif role == "assistant":
            blocks = _assistant_blocks(m, where, names)
            replayed = replayed or any(b["type"] != "text" and b["type"] != "tool_use"
                                       for b in blocks)
            add("assistant", blocks)
        elif role == "tool":
            if not isinstance(m.get("tool_call_id"), str):
                raise Refused(f"{where}.tool_call_id is required.", f"{where}.tool_call_id")
            result = {"type": "tool_result", "tool_use_id": sanitize_id(m["tool_call_id"])}
            text = chat.text_of(m.get("content"), f"{where}.content")
            if text:  # an empty text block is refused by the API: no content instead
                result["content"] = text
            pending_results.append(result)
        elif role == "function":
            raise Refused(f"{where}: the deprecated functions API is not available for "
                          "Claude models; use tools and tool messages.", f"{where}.role")
        else:
            raise Refused(f"{where}.role {role!r} is not a chat role.", f"{where}.role")
    if pending_results:
        add("user", pending_results, tool_results=True)
    return system, turns, names, replayed


def _tools(body: dict, names: set) -> tuple[list[dict] | None, dict | None]:
    tools = body.get("tools")
    out = []
    for i, t in enumerate(tools or ()):
        fn = t.get("function") if isinstance(t, dict) and t.get("type") == "function" else None
        if not isinstance(fn, dict):
            raise Refused(f"tools[{i}]: only function tools are available for Claude models.",
                          f"tools[{i}]", "unsupported_value")
        name = fn.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise Refused(f"tools[{i}].function.name must match ^[a-zA-Z0-9_-]{{1,128}}$ for "
                          "Claude models.", f"tools[{i}].function.name", "unsupported_value")
        tool = {"name": name,
                "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
        if isinstance(fn.get("description"), str):
            tool["description"] = fn["description"]
        if fn.get("strict") is True:
            tool["strict"] = True
        out.append(_cache(tool, t))
    choice = body.get("tool_choice")
    mapped: dict | None
    if choice in (None, "auto"):
        mapped = {"type": "auto"} if out else None
    elif choice == "none":
        mapped = {"type": "none"}
    elif choice == "required":
        mapped = {"type": "any"}
    elif isinstance(choice, dict) and choice.get("type") == "function" \
            and isinstance((choice.get("function") or {}).get("name"), str):
        mapped = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise Refused("tool_choice: 'auto', 'none', 'required' or a named function are "
                      "available for Claude models.", "tool_choice", "unsupported_value")
    if not out and names:  # a tool history without tools: the API needs them defined
        out = [{"name": n, "input_schema": {"type": "object"}} for n in sorted(names)]
        mapped = {"type": "none"}
    if body.get("parallel_tool_calls") is False and out:
        mapped = {**(mapped or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out or None, mapped


def _thinking(effort, model: str, max_tokens: int) -> tuple[dict | None, dict | None]:
    """reasoning_effort as the model takes it: adaptive thinking with an effort (4.6 and
    later), or a budget below the output cap."""
    if effort is None:
        return None, None
    if effort != "none" and effort not in BUDGETS:
        raise Refused(f"reasoning_effort {effort!r} is not one of none, minimal, low, medium, "
                      "high, xhigh, max.", "reasoning_effort", "unsupported_value")
    if _ADAPTIVE.search(model):
        if effort == "none":
            return {"type": "disabled"}, None
        return {"type": "adaptive", "display": "summarized"}, {"effort": EFFORTS[effort]}
    if effort == "none":
        return None, None
    if max_tokens <= 1024:
        raise Refused("reasoning_effort needs max_completion_tokens above 1024 on Claude "
                      "models (thinking takes at least 1024 of them).", "max_completion_tokens",
                      "unsupported_value")
    return {"type": "enabled", "budget_tokens": min(BUDGETS[effort], max_tokens - 1)}, None


def request(body: dict, model: str, max_output: int | None, user_salt: str) -> dict:
    """The Messages request for a Chat Completions body (model: the catalog's name)."""
    chat.check_fields(body, _KNOWN, _REFUSED, "Claude")
    if body.get("n") not in (None, 1):
        raise Refused("n: Claude models give one choice per request.", "n", "unsupported_value")
    system, turns, names, replayed = _messages(body.get("messages"))
    if not turns:
        raise Refused("messages: at least one user message is needed.", "messages")
    cap = chat.output_cap(body)
    if cap is None:
        cap = min(DEFAULT_MAX_TOKENS, max_output or DEFAULT_MAX_TOKENS)
    native: dict = {"model": model, "max_tokens": cap, "messages": turns}
    if system:
        native["system"] = system
    tools, choice = _tools(body, names)
    if tools:
        native["tools"] = tools
    if choice:
        native["tool_choice"] = choice
    thinking, output_config = _thinking(body.get("reasoning_effort"), model, cap)
    thinking_on = thinking is not None and thinking["type"] != "disabled"
    if thinking:
        native["thinking"] = thinking
    if output_config:
        native["output_config"] = output_config
    if thinking_on and choice and choice["type"] in ("any", "tool"):
        raise Refused("tool_choice cannot force a tool while reasoning_effort turns thinking "
                      "on for Claude models.", "tool_choice", "unsupported_value")
    if replayed and not thinking_on:
        for turn in turns:  # thinking off: reasoning replayed from an earlier turn goes
            turn["content"] = [b for b in turn["content"]
                               if b["type"] not in ("thinking", "redacted_thinking")] or \
                turn["content"]
    temperature, top_p = body.get("temperature"), body.get("top_p")
    if temperature is not None:
        if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 1:
            raise Refused("temperature: Claude models take 0 to 1.", "temperature",
                          "unsupported_value")
        if thinking_on:
            raise Refused("temperature cannot be set while thinking is on for Claude models.",
                          "temperature", "unsupported_value")
        native["temperature"] = temperature
    if top_p is not None:
        native["top_p"] = top_p
    stops = chat.stop_list(body)
    if any(not s.strip() for s in stops):
        raise Refused("stop: Claude models take stop sequences with more than whitespace.",
                      "stop", "unsupported_value")
    if stops:
        native["stop_sequences"] = stops
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise Refused("response_format.json_schema.schema must be an object.",
                          "response_format")
        native.setdefault("output_config", {})["format"] = {"type": "json_schema",
                                                           "schema": schema}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        raise Refused("response_format json_object: Claude models have no schema-less JSON "
                      "mode; use json_schema with the object's schema.", "response_format",
                      "unsupported_value")
    elif fmt not in (None, {"type": "text"}):
        raise Refused("response_format must be text or json_schema for Claude models.",
                      "response_format", "unsupported_value")
    user = body.get("safety_identifier") or body.get("user")
    if isinstance(user, str) and user:  # an opaque id, as Anthropic asks: never the value
        native["metadata"] = {"user_id": hashlib.sha256(
            f"{user_salt}:{user}".encode()).hexdigest()[:40]}
    if body.get("stream") is True:
        native["stream"] = True
    return native


# --- The answer ---------------------------------------------------------------------------


def _details(thinking: list[dict]) -> tuple[str | None, list[dict] | None]:
    text = "".join(b.get("thinking") or "" for b in thinking if b["type"] == "thinking")
    details = []
    for i, b in enumerate(thinking):
        if b["type"] == "thinking":
            details.append({"type": "reasoning.text", "text": b.get("thinking") or "",
                            "signature": b.get("signature"), "format": FORMAT, "index": i})
        else:
            details.append({"type": "reasoning.encrypted", "data": b.get("data"),
                            "format": FORMAT, "index": i})
    return (text or None), (details or None)


def response(obj: dict, created: int | None = None) -> dict:
    """A Messages answer as a chat completion."""
    blocks = [b for b in obj.get("content") or () if isinstance(b, dict)]
    text = "".join(b.get("text") or "" for b in blocks if b.get("type") == "text")
    calls = [{"id": b.get("id"), "type": "function",
              "function": {"name": b.get("name"), "arguments": json.dumps(b.get("input") or {})}}
             for b in blocks if b.get("type") == "tool_use"]
    reasoning, details = _details([b for b in blocks
                                   if b.get("type") in ("thinking", "redacted_thinking")])
    message: dict = {"role": "assistant", "content": text if text or not calls else None,
                     "refusal": None}
    if calls:
        message["tool_calls"] = calls
    if reasoning is not None or details:
        message["reasoning_content"] = reasoning
        message["reasoning_details"] = details
    native = obj.get("stop_reason")
    finish = "tool_calls" if calls else FINISH.get(native, "stop")
    u = obj.get("usage")
    usage = chat.usage_object(anthropic_usage(u), "thinking_tokens" in (
        u.get("output_tokens_details") or {})) if isinstance(u, dict) else None
    return chat.completion(f"chatcmpl-{obj.get('id', '')}", created or int(time.time()),
                           obj.get("model") or "", message, finish, native, usage)


class ChatStream(chat.Translating, AnthropicStream):
    """The native stream read for usage (its parent, the metering parser) and, from the same
    events, the Chat Completions chunks the client gets. Tool calls are numbered by this
    stream from 0, never by the block's index."""

    __slots__ = ("_chunks", "_out", "_blocks", "_tools", "_sent_args", "_stop", "_ended")

    def __init__(self, created: int | None = None, include_usage: bool = False) -> None:
        super().__init__()
        self._chunks = chat.Chunks(created or int(time.time()), include_usage)
        self._out: list[bytes] = []
        self._blocks: dict[int, list] = {}  # block index: [kind, tool number, got args]
        self._tools = 0
        self._stop: str | None = None
        self._ended = False


    def finish(self) -> bytes:
        if not self._ended:
            self._fail("The upstream stream ended before its last event.")
        return self._drain()


    def on_event(self, name: str, data: str) -> None:
        obj = json.loads(data)
        if isinstance(obj, dict):
            kind = obj.get("type", name)
            super().on_object(kind, obj)  # usage, model, completeness: metering's reading
            self._translate(kind, obj)

    def _translate(self, kind: str, obj: dict) -> None:
        c = self._chunks
        if kind == "message_start":
            msg = obj.get("message") or {}
            c.id, c.model = f"chatcmpl-{msg.get('id', '')}", msg.get("model") or ""
        elif kind == "content_block_start":
            block = obj.get("content_block") or {}
            i = obj.get("index")
            if block.get("type") == "tool_use":
                k = self._tools
                self._tools += 1
                self._blocks[i] = ["tool", k, False]
                self._out.append(c.delta({"tool_calls": [{
                    "index": k, "id": block.get("id"), "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""}}]}))
            elif block.get("type") == "redacted_thinking":
                self._blocks[i] = ["redacted", i, False]
                self._out.append(c.delta({"reasoning_details": [{
                    "type": "reasoning.encrypted", "data": block.get("data"),
                    "format": FORMAT, "index": i}]}))
            else:
                self._blocks[i] = [block.get("type"), i, False]
        elif kind == "content_block_delta":
            d = obj.get("delta") or {}
            state = self._blocks.get(obj.get("index"))
            t = d.get("type")
            if t == "text_delta" and d.get("text"):
                self._out.append(c.text(d["text"]))
            elif t == "input_json_delta" and state and d.get("partial_json"):
                state[2] = True
                self._out.append(c.delta({"tool_calls": [{
                    "index": state[1], "function": {"arguments": d["partial_json"]}}]}))
            elif t == "thinking_delta" and d.get("thinking"):
                self._out.append(c.delta({"reasoning_content": d["thinking"],
                                          "reasoning_details": [{
                                              "type": "reasoning.text", "text": d["thinking"],
                                              "format": FORMAT, "index": obj.get("index")}]}))
            elif t == "signature_delta" and d.get("signature"):
                self._out.append(c.delta({"reasoning_details": [{
                    "type": "reasoning.text", "text": "", "signature": d["signature"],
                    "format": FORMAT, "index": obj.get("index")}]}))
        elif kind == "content_block_stop":
            state = self._blocks.get(obj.get("index"))
            if state and state[0] == "tool" and not state[2]:
                self._out.append(c.delta({"tool_calls": [{
                    "index": state[1], "function": {"arguments": "{}"}}]}))
        elif kind == "message_delta":
            self._stop = (obj.get("delta") or {}).get("stop_reason") or self._stop
        elif kind == "message_stop":
            finish = "tool_calls" if self._tools else FINISH.get(self._stop, "stop")
            self._out.append(c.finish(finish, self._stop))
            self._out.append(c.usage(chat.usage_object(self.usage, "thinking_tokens" in (
                self._u.get("output_tokens_details") or {}))))
            self._out.append(chat.DONE)
            self._ended = True
        elif kind == "error":
            err = obj.get("error") or {}
            status, type_, code = ERRORS.get(err.get("type"), ERRORS["api_error"])
            self._fail(err.get("message") or "The upstream failed.", type_, code)


# --- Errors -------------------------------------------------------------------------------

# Anthropic's error type: the client's status, OpenAI's type and code (docs/unified-api.md).
ERRORS = {
    "invalid_request_error": (400, "invalid_request_error", None),
    "authentication_error": (503, "server_error", "upstream_auth_failed"),
    "permission_error": (503, "server_error", "upstream_auth_failed"),
    "billing_error": (503, "server_error", "upstream_unavailable"),
    "not_found_error": (404, "invalid_request_error", "model_not_found"),
    "request_too_large": (413, "invalid_request_error", "request_too_large"),
    "rate_limit_error": (429, "requests", "rate_limit_exceeded"),
    "api_error": (500, "server_error", None),
    "timeout_error": (504, "server_error", "timeout"),
    "overloaded_error": (503, "server_error", "overloaded"),
}


def error(status: int, obj) -> tuple[int, dict]:
    """A native error answer as OpenAI's: the client's status and body."""
    err = obj.get("error") if isinstance(obj, dict) else None
    err = err if isinstance(err, dict) else {}
    kind = err.get("type")
    if kind not in ERRORS:
        kind = "overloaded_error" if status == 529 else "rate_limit_error" if status == 429 \
            else "invalid_request_error" if 400 <= status < 500 else "api_error"
    to, type_, code = ERRORS[kind]
    message = err.get("message") if isinstance(err.get("message"), str) else \
        f"The upstream answered {status}."
    if kind == "invalid_request_error" and ("prompt is too long" in message
                                            or "exceed" in message and "token" in message):
        code = "context_length_exceeded"
    return to, {"error": {"message": message, "type": type_, "param": None, "code": code}}
