"""Chat Completions translated to Gemini's generateContent and back: the request, the answer,
the stream (incremental, split anywhere) and the errors. Pure. What cannot be honoured is
refused (`Refused`: OpenAI's 400 naming the parameter); docs/unified-api.md has the table."""

from __future__ import annotations

import json
import math
import re
import secrets
import string
import time

from addons.providers.gemini.usage import GeminiSSEStream, gemini_usage
from addons.providers.openai import chat
from addons.providers.openai.chat import Refused
from addons.wire.usage import loads

FORMAT = "google-gemini-v1"  # reasoning_details entries minted here
_DATA_URL = re.compile(r"data:([\w/+.-]+);base64,(.*)", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
_OWN_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_BASE62 = string.ascii_letters + string.digits
SYNTHESIZED = "call_gw"  # the prefix of ids the gateway made (Gemini 2.x gives none)
SKIP_SIGNATURE = "skip_thought_signature_validator"  # Gemini 3: a call replayed unsigned
AUDIO = {"wav": "audio/wav", "mp3": "audio/mp3"}
# Gemini 2.5's thinking budgets, as Google's own OpenAI layer maps efforts.
BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 24576,
           "max": 24576}
LEVELS = {"none": "MINIMAL", "minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM",
          "high": "HIGH", "xhigh": "HIGH", "max": "HIGH"}
_GEMINI_3 = re.compile(r"gemini-(?:[3-9]|\d\d)")
_CANNOT_STOP_THINKING = re.compile(r"gemini-2\.5-pro")

# finishReason: one table (docs/unified-api.md); a candidate that called a function: tool_calls.
FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
          "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
          "BLOCKLIST": "content_filter", "RECITATION": "content_filter",
          "LANGUAGE": "content_filter", "IMAGE_SAFETY": "content_filter",
          "IMAGE_PROHIBITED_CONTENT": "content_filter", "IMAGE_RECITATION": "content_filter",
          "IMAGE_OTHER": "content_filter", "OTHER": "content_filter",
          "CONTINUATION": "length", "MALFORMED_FUNCTION_CALL": "stop",
          "UNEXPECTED_TOOL_CALL": "stop", "TOO_MANY_TOOL_CALLS": "stop",
          "MALFORMED_RESPONSE": "stop"}

_REFUSED = frozenset({"logprobs", "top_logprobs", "logit_bias", "prediction", "verbosity",
                      "web_search_options", "moderation", "audio", "functions",
                      "function_call", "prompt_cache_options", "prompt_cache_retention"})
_KNOWN = chat.COMMON | _REFUSED | {"presence_penalty", "frequency_penalty", "seed"}


def new_id() -> str:
    return SYNTHESIZED + "".join(secrets.choice(_BASE62) for _ in range(22))


def _user_parts(content, where: str) -> list[dict]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise Refused(f"{where} must be a string or a list of parts.", where)
    parts = []
    for i, p in enumerate(content):
        at = f"{where}[{i}]"
        kind = p.get("type") if isinstance(p, dict) else None
        if kind == "text" and isinstance(p.get("text"), str):
            if p["text"]:
                parts.append({"text": p["text"]})
            continue
        url = None
        if kind == "image_url":
            image = p.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
        elif kind == "file" and isinstance(p.get("file"), dict):
            url = p["file"].get("file_data")
        elif kind == "input_audio" and isinstance(p.get("input_audio"), dict):
            audio = p["input_audio"]
            if audio.get("format") not in AUDIO or not isinstance(audio.get("data"), str):
                raise Refused(f"{at}.input_audio: wav or mp3 data.", f"{at}.input_audio",
                              "unsupported_value")
            parts.append({"inlineData": {"mimeType": AUDIO[audio["format"]],
                                         "data": audio["data"]}})
            continue
        else:
            raise Refused(f"{at}: parts of type {kind!r} are not available for Gemini models.",
                          at, "unsupported_value")
        m = _DATA_URL.match(url) if isinstance(url, str) else None
        if not m:
            raise Refused(f"{at}: Gemini models take images and files as data: URLs here.",
                          at, "unsupported_value")
        parts.append({"inlineData": {"mimeType": m[1], "data": m[2]}})
    return parts


def _signatures(message: dict) -> tuple[dict[str, str], str | None]:
    """An assistant turn's thought signatures: by the call id they came with, and the one
    that came without (it goes on the turn's last part)."""
    by_id, loose = {}, None
    for d in message.get("reasoning_details") or ():
        if isinstance(d, dict) and d.get("format") == FORMAT \
                and d.get("type") == "reasoning.encrypted" and isinstance(d.get("data"), str):
            if isinstance(d.get("id"), str):
                by_id[d["id"]] = d["data"]
            else:
                loose = d["data"]
    return by_id, loose


def _contents(messages, gemini3: bool) -> tuple[list[dict], list[dict]]:
    """The system parts (system and developer messages, in order) and the contents."""
    if not isinstance(messages, list) or not messages:
        raise Refused("messages must be a non-empty list.", "messages")
    system, contents = [], []
    names: dict[str, tuple[str, str | None]] = {}  # tool_call_id: (name, Gemini's own id)
    order: dict[str, int] = {}
    pending: list[tuple[int, dict]] = []

    def add(role: str, parts: list[dict]) -> None:
        if not parts:
            return
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    def flush() -> None:
        if pending:
            add("user", [p for _, p in sorted(pending, key=lambda x: x[0])])
            pending.clear()

    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        role = m.get("role") if isinstance(m, dict) else None
        if role != "tool":
            flush()
        if role in ("system", "developer"):
            text = chat.text_of(m.get("content"), f"{where}.content")
            if text:
                system.append({"text": text})
        elif role == "user":
            add("user", _user_parts(m.get("content"), f"{where}.content"))
        elif role == "assistant":
            parts = []
            text = chat.text_of(m.get("content"), f"{where}.content")
            if text:
                parts.append({"text": text})
            by_id, loose = _signatures(m)
            order.clear()
            for j, call in enumerate(m.get("tool_calls") or ()):
                at = f"{where}.tool_calls[{j}]"
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) \
                        or not isinstance(call.get("id"), str):
                    raise Refused(f"{at} needs an id and a function with a name.", at)
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = None
                if not isinstance(args, dict):
                    raise Refused(f"{at}.function.arguments must be a JSON object.",
                                  f"{at}.function.arguments")
                cid = call["id"]
                own = None if cid.startswith(SYNTHESIZED) else cid
                names[cid] = (fn["name"], own)
                order[cid] = j
                part: dict = {"functionCall": {"name": fn["name"], "args": args}}
                if own:
                    part["functionCall"]["id"] = own
                signature = by_id.get(cid)
                if signature is None and j == 0 and gemini3:
                    signature = SKIP_SIGNATURE  # the client dropped it, or another model's
                if signature:
                    part["thoughtSignature"] = signature
                parts.append(part)
            if loose and parts:
                parts[-1].setdefault("thoughtSignature", loose)
            add("model", parts)
        elif role == "tool":
            cid = m.get("tool_call_id")
            if cid not in names:
                raise Refused(f"{where}.tool_call_id names no tool call of the assistant "
                              "message before it.", f"{where}.tool_call_id")
            name, own = names[cid]
            response = {"name": name, "response": {
                "output": chat.text_of(m.get("content"), f"{where}.content")}}
            if own:
                response["id"] = own
            pending.append((order.get(cid, len(order)), {"functionResponse": response}))
        elif role == "function":
            raise Refused(f"{where}: the deprecated functions API is not available for "
                          "Gemini models; use tools and tool messages.", f"{where}.role")
        else:
            raise Refused(f"{where}.role {role!r} is not a chat role.", f"{where}.role")
    flush()
    return system, contents


def _schema(schema) -> dict:
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    return {k: v for k, v in schema.items() if k not in ("$schema", "strict")}


def _tools(body: dict) -> tuple[list[dict] | None, dict | None]:
    decls = []
    for i, t in enumerate(body.get("tools") or ()):
        fn = t.get("function") if isinstance(t, dict) and t.get("type") == "function" else None
        if not isinstance(fn, dict):
            raise Refused(f"tools[{i}]: only function tools are available for Gemini models.",
                          f"tools[{i}]", "unsupported_value")
        name = fn.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise Refused(f"tools[{i}].function.name must start with a letter or _ and use "
                          "only letters, digits, _ . : - (128 at most) for Gemini models.",
                          f"tools[{i}].function.name", "unsupported_value")
        decl = {"name": name, "parametersJsonSchema": _schema(fn.get("parameters"))}
        if isinstance(fn.get("description"), str):
            decl["description"] = fn["description"]
        decls.append(decl)
    if body.get("parallel_tool_calls") is False and decls:
        raise Refused("parallel_tool_calls: Gemini models have no switch to call one tool "
                      "at a time.", "parallel_tool_calls", "unsupported_value")
    choice = body.get("tool_choice")
    if choice in (None, "auto"):
        mode = {"mode": "AUTO"} if decls else None
    elif choice == "none":
        mode = {"mode": "NONE"}
    elif choice == "required":
        mode = {"mode": "ANY"}
    elif isinstance(choice, dict) and choice.get("type") == "function" \
            and isinstance((choice.get("function") or {}).get("name"), str):
        mode = {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}
    else:
        raise Refused("tool_choice: 'auto', 'none', 'required' or a named function are "
                      "available for Gemini models.", "tool_choice", "unsupported_value")
    return ([{"functionDeclarations": decls}] if decls else None), (
        {"functionCallingConfig": mode} if mode and decls else None)


def request(body: dict, model: str) -> dict:
    """The generateContent request for a Chat Completions body (model: the catalog's name;
    it goes in the path, with the stream choice)."""
    chat.check_fields(body, _KNOWN, _REFUSED, "Gemini")
    gemini3 = bool(_GEMINI_3.search(model))
    system, contents = _contents(body.get("messages"), gemini3)
    if not contents:
        raise Refused("messages: at least one user message is needed.", "messages")
    native: dict = {"contents": contents}
    if system:
        native["systemInstruction"] = {"parts": system}
    tools, config = _tools(body)
    if tools:
        native["tools"] = tools
    if config:
        native["toolConfig"] = config
    gen: dict = {}
    cap = chat.output_cap(body)
    if cap is not None:
        gen["maxOutputTokens"] = cap
    for name, field in (("temperature", "temperature"), ("top_p", "topP"),
                        ("presence_penalty", "presencePenalty"),
                        ("frequency_penalty", "frequencyPenalty"), ("seed", "seed")):
        if body.get(name) is not None:
            gen[field] = body[name]
    if body.get("temperature") is not None and not (
            isinstance(body["temperature"], (int, float)) and 0 <= body["temperature"] <= 2):
        raise Refused("temperature must be between 0 and 2.", "temperature", "invalid_value")
    n = body.get("n")
    if n not in (None, 1):
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 8:
            raise Refused("n: Gemini models give 1 to 8 choices.", "n", "unsupported_value")
        gen["candidateCount"] = n
    stops = chat.stop_list(body)
    if stops:
        gen["stopSequences"] = stops
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise Refused("response_format.json_schema.schema must be an object.",
                          "response_format")
        gen["responseMimeType"] = "application/json"
        gen["responseJsonSchema"] = _schema(schema)
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        gen["responseMimeType"] = "application/json"
    elif fmt not in (None, {"type": "text"}):
        raise Refused("response_format must be text, json_object or json_schema.",
                      "response_format", "unsupported_value")
    effort = body.get("reasoning_effort")
    if effort is not None:
        if effort not in LEVELS:
            raise Refused(f"reasoning_effort {effort!r} is not one of none, minimal, low, "
                          "medium, high, xhigh, max.", "reasoning_effort", "unsupported_value")
        if gemini3:  # it cannot think less than MINIMAL: `none` is the least, still billed
            gen["thinkingConfig"] = {"thinkingLevel": LEVELS[effort],
                                     "includeThoughts": effort != "none"}
        elif effort == "none":
            gen["thinkingConfig"] = {"thinkingBudget": 128 if _CANNOT_STOP_THINKING.search(
                model) else 0}
        else:
            gen["thinkingConfig"] = {"thinkingBudget": BUDGETS[effort], "includeThoughts": True}
    if gen:
        native["generationConfig"] = gen
    return native


# --- The answer ---------------------------------------------------------------------------


def usage_object(meta: dict | None) -> dict | None:
    """usageMetadata as OpenAI's usage: the completion is the total less the prompt (right
    whether or not the candidates' count holds the thoughts)."""
    if not isinstance(meta, dict):
        return None
    u = gemini_usage(meta)
    prompt = u.input_tokens + u.cache_read_tokens
    total = u.total_tokens
    out = {"prompt_tokens": prompt, "completion_tokens": max(0, total - prompt),
           "total_tokens": total,
           "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens}}
    if "thoughtsTokenCount" in meta:
        out["completion_tokens_details"] = {"reasoning_tokens": u.reasoning_tokens}
    return out


def _call_id(call: dict) -> str:
    own = call.get("id")
    return own if isinstance(own, str) and _OWN_ID.fullmatch(own) else new_id()


def response(obj: dict, created: int | None = None) -> dict:
    """A generateContent answer as a chat completion (each candidate a choice)."""
    choices = []
    blocked = (obj.get("promptFeedback") or {}).get("blockReason")
    for k, cand in enumerate(obj.get("candidates") or ()):
        texts, thoughts, calls, details = [], [], [], []
        for part in (cand.get("content") or {}).get("parts") or ():
            if isinstance(part.get("functionCall"), dict):
                fc = part["functionCall"]
                cid = _call_id(fc)
                calls.append({"id": cid, "type": "function", "function": {
                    "name": fc.get("name"), "arguments": json.dumps(fc.get("args") or {})}})
                if part.get("thoughtSignature"):
                    details.append({"type": "reasoning.encrypted", "id": cid,
                                    "data": part["thoughtSignature"], "format": FORMAT,
                                    "index": len(details)})
                continue
            if isinstance(part.get("text"), str):
                (thoughts if part.get("thought") else texts).append(part["text"])
            if part.get("thoughtSignature") and not part.get("thought"):
                details.append({"type": "reasoning.encrypted", "data": part["thoughtSignature"],
                                "format": FORMAT, "index": len(details)})
        message: dict = {"role": "assistant", "content": "".join(texts) if texts or not calls
                         else None, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        if thoughts or details:
            message["reasoning_content"] = "".join(thoughts) or None
            message["reasoning_details"] = details or None
        native = cand.get("finishReason")
        finish = "tool_calls" if calls else FINISH.get(native, "stop")
        choices.append({"index": cand.get("index", k), "message": message, "logprobs": None,
                        "finish_reason": finish, "native_finish_reason": native})
    if not choices and blocked:  # a blocked prompt: 200, nothing generated
        choices.append({"index": 0, "message": {"role": "assistant", "content": "",
                                                "refusal": None},
                        "logprobs": None, "finish_reason": "content_filter",
                        "native_finish_reason": blocked})
    return {"id": f"chatcmpl-{obj.get('responseId', '')}", "object": "chat.completion",
            "created": created or int(time.time()), "model": obj.get("modelVersion") or "",
            "choices": choices, "usage": usage_object(obj.get("usageMetadata"))}


class ChatStream(chat.Translating, GeminiSSEStream):
    """The native stream read for usage (its parent, the metering parser) and, from the same
    objects, the Chat Completions chunks: a call arrives whole, one delta each, numbered
    from 0 per candidate; chunks with nothing to say say nothing."""

    __slots__ = ("_chunks", "_out", "_calls", "_finished", "_meta", "_ended", "_seen")

    def __init__(self, created: int | None = None, include_usage: bool = False) -> None:
        super().__init__()
        self._chunks = chat.Chunks(created or int(time.time()), include_usage)
        self._out: list[bytes] = []
        self._calls: dict[int, int] = {}  # candidate: calls so far
        self._finished: dict[int, bool] = {}
        self._seen: set[int] = set()
        self._meta: dict | None = None
        self._ended = False


    def finish(self) -> bytes:
        if not self._ended:
            if self._seen and all(self._finished.get(i) for i in self._seen):
                self._out.append(self._chunks.usage(usage_object(self._meta)))
                self._out.append(chat.DONE)
                self._ended = True
            else:
                self._fail("The upstream stream ended before its finish reason.")
        return self._drain()


    def on_event(self, name: str, data: str) -> None:
        obj = loads(data)
        self.on_object(obj)  # usage, model, completeness: metering's reading
        if isinstance(obj, list):  # an error wrapped in a one-element array
            obj = obj[0] if obj else None
        if isinstance(obj, dict):
            self._translate(obj)

    def _translate(self, obj: dict) -> None:
        c = self._chunks
        if isinstance(obj.get("error"), dict):
            status, body = error(obj["error"].get("code") or 500, obj)
            self._fail(body["error"]["message"], body["error"]["type"], body["error"]["code"])
            return
        c.id = f"chatcmpl-{obj.get('responseId', '')}" if obj.get("responseId") else c.id
        c.model = obj.get("modelVersion") or c.model
        if isinstance(obj.get("usageMetadata"), dict):
            self._meta = obj["usageMetadata"]  # running totals: the last wins
        blocked = (obj.get("promptFeedback") or {}).get("blockReason")
        if blocked and not obj.get("candidates"):
            self._seen.add(0)
            self._finished[0] = True
            self._out.append(c.finish("content_filter", blocked))
            return
        for k, cand in enumerate(obj.get("candidates") or ()):
            i = cand.get("index", k)
            self._seen.add(i)
            for part in (cand.get("content") or {}).get("parts") or ():
                self._part(c, i, part)
            native = cand.get("finishReason")
            if native and not self._finished.get(i):
                self._finished[i] = True
                finish = "tool_calls" if self._calls.get(i) else FINISH.get(native, "stop")
                self._out.append(c.finish_choice(i, finish, native))

    def _part(self, c: chat.Chunks, i: int, part: dict) -> None:
        if isinstance(part.get("functionCall"), dict):
            fc = part["functionCall"]
            k = self._calls.get(i, 0)
            self._calls[i] = k + 1
            cid = _call_id(fc)
            delta: dict = {"tool_calls": [{"index": k, "id": cid, "type": "function",
                                           "function": {"name": fc.get("name"),
                                                        "arguments": json.dumps(
                                                            fc.get("args") or {})}}]}
            if part.get("thoughtSignature"):
                delta["reasoning_details"] = [{"type": "reasoning.encrypted", "id": cid,
                                               "data": part["thoughtSignature"],
                                               "format": FORMAT, "index": k}]
            self._out.append(c.delta_choice(i, delta))
            return
        text = part.get("text")
        if isinstance(text, str) and text:
            if part.get("thought"):
                self._out.append(c.delta_choice(i, {"reasoning_content": text}))
            else:
                self._out.append(c.delta_choice(i, {"content": text}))
        if part.get("thoughtSignature") and not part.get("thought"):
            # a signature on its own (an empty part of a later chunk): kept, nothing empty sent
            self._out.append(c.delta_choice(i, {"reasoning_details": [{
                "type": "reasoning.encrypted", "data": part["thoughtSignature"],
                "format": FORMAT, "index": self._calls.get(i, 0)}]}))


# --- Errors -------------------------------------------------------------------------------

# Gemini's status: the client's status, OpenAI's type and code (docs/unified-api.md).
ERRORS = {
    "INVALID_ARGUMENT": (400, "invalid_request_error", None),
    "FAILED_PRECONDITION": (503, "server_error", "upstream_unavailable"),
    "UNAUTHENTICATED": (503, "server_error", "upstream_auth_failed"),
    "PERMISSION_DENIED": (503, "server_error", "upstream_auth_failed"),
    "NOT_FOUND": (404, "invalid_request_error", "model_not_found"),
    "RESOURCE_EXHAUSTED": (429, "requests", "rate_limit_exceeded"),
    "INTERNAL": (500, "server_error", None),
    "UNAVAILABLE": (503, "server_error", "overloaded"),
    "DEADLINE_EXCEEDED": (504, "server_error", "timeout"),
}


def retry_after(obj) -> int | None:
    """RetryInfo's delay ("37s") in whole seconds, rounded up."""
    err = obj.get("error") if isinstance(obj, dict) else None
    for d in (err or {}).get("details") or ():
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("RetryInfo"):
            try:
                return math.ceil(float(str(d.get("retryDelay", "")).rstrip("s")))
            except ValueError:
                return None
    return None


def error(status: int, obj) -> tuple[int, dict]:
    """A native error answer as OpenAI's: the client's status and body."""
    if isinstance(obj, list) and obj:  # wrapped in a one-element array
        obj = obj[0]
    err = obj.get("error") if isinstance(obj, dict) else None
    err = err if isinstance(err, dict) else {}
    state = err.get("status")
    reasons = {d.get("reason") for d in err.get("details") or () if isinstance(d, dict)}
    if "API_KEY_INVALID" in reasons:
        state = "UNAUTHENTICATED"
    if state not in ERRORS:
        state = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
                 404: "NOT_FOUND"}.get(status, "INVALID_ARGUMENT" if 400 <= status < 500
                                       else "INTERNAL")
    to, type_, code = ERRORS[state]
    message = err.get("message") if isinstance(err.get("message"), str) else \
        f"The upstream answered {status}."
    if state == "INVALID_ARGUMENT" and "token count" in message and "exceed" in message:
        code = "context_length_exceeded"
    return to, {"error": {"message": message, "type": type_, "param": None, "code": code}}
