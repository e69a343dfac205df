"""OpenAI's Responses API (stateless) as Chat Completions and back, for the models another
provider serves: a Responses request becomes the chat request the provider's chat translator
takes; the chat completion it gives back becomes the response object; its chunks become
Responses' named events. Pure. Stored state (`store`, `previous_response_id`, `background`,
`conversation`) and hosted tools are refused naming the parameter: nothing is kept."""

from __future__ import annotations

import base64
import json
import secrets
import time

from addons.providers.openai.chat import Refused
from addons.wire.bodies import compact

_KNOWN = frozenset({"model", "input", "instructions", "tools", "tool_choice",
                    "parallel_tool_calls", "max_output_tokens", "temperature", "top_p",
                    "reasoning", "text", "stream", "store", "metadata", "user",
                    "safety_identifier", "prompt_cache_key", "include", "service_tier",
                    "previous_response_id", "conversation", "background", "prompt",
                    "truncation", "top_logprobs", "stream_options", "client_metadata"})
_STATEFUL = ("previous_response_id", "conversation", "prompt")
CARRIER = "reasoning.encrypted_content"
SEP = "__"  # a namespaced function's name to the provider: namespace, SEP, name


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def pack_reasoning(details: list[dict]) -> str:
    """reasoning_details, carried in `encrypted_content` (opaque to the client, checked by the
    provider that minted the signatures)."""
    raw = json.dumps({"v": 1, "details": details}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def unpack_reasoning(content) -> list[dict]:
    if not isinstance(content, str):
        return []
    try:
        obj = json.loads(base64.urlsafe_b64decode(content.encode()))
    except ValueError:
        return []
    details = obj.get("details") if isinstance(obj, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _parts(content, where: str) -> list[dict] | str:
    """A message's content as Chat parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise Refused(f"{where} must be a string or a list of content parts.", where)
    parts = []
    for i, p in enumerate(content):
        kind = p.get("type") if isinstance(p, dict) else None
        at = f"{where}[{i}]"
        if kind in ("input_text", "output_text", "text") and isinstance(p.get("text"), str):
            parts.append({"type": "text", "text": p["text"]})
        elif kind == "input_image" and isinstance(p.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": p["image_url"]}})
        elif kind == "input_file" and isinstance(p.get("file_data"), str):
            parts.append({"type": "file", "file": {"file_data": p["file_data"]}})
        else:
            raise Refused(f"{at}: content parts of type {kind!r} are not available for this "
                          "model (input_text, input_image with an image_url, input_file with "
                          "file_data are).", at, "unsupported_value")
    return parts


def _messages(body: dict) -> list[dict]:
    """`instructions` and `input` as Chat messages: consecutive reasoning, assistant messages
    and function calls make one assistant turn; each function output a tool message."""
    messages: list[dict] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        return [*messages, {"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise Refused("input must be a string or a non-empty list of items.", "input")
    turn: dict | None = None

    def assistant() -> dict:
        nonlocal turn
        if turn is None:
            turn = {"role": "assistant", "content": None}
            messages.append(turn)
        return turn

    for i, item in enumerate(items):
        at = f"input[{i}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        role = item.get("role") if isinstance(item, dict) else None
        if kind == "message" and role == "assistant":
            t = assistant()
            text = _parts(item.get("content"), f"{at}.content")
            text = text if isinstance(text, str) else "".join(p.get("text", "") for p in text)
            t["content"] = (t["content"] or "") + text
        elif kind == "function_call":
            if not isinstance(item.get("call_id"), str) or not isinstance(item.get("name"), str):
                raise Refused(f"{at} needs a call_id and a name.", at)
            name = item["name"]
            if isinstance(item.get("namespace"), str) and item["namespace"]:
                name = f"{item['namespace']}{SEP}{name}"
            assistant().setdefault("tool_calls", []).append({
                "id": item["call_id"], "type": "function",
                "function": {"name": name, "arguments": item.get("arguments") or "{}"}})
        elif kind == "reasoning":
            details = unpack_reasoning(item.get("encrypted_content"))
            assistant().setdefault("reasoning_details", []).extend(details)
        elif kind == "function_call_output":
            turn = None
            output = item.get("output")
            if isinstance(output, list):
                output = "".join(p.get("text", "") for p in output if isinstance(p, dict))
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                             "content": output if isinstance(output, str) else json.dumps(output)})
        elif kind == "message" and role in ("user", "system", "developer"):
            turn = None
            messages.append({"role": role, "content": _parts(item.get("content"),
                                                             f"{at}.content")})
        else:
            raise Refused(f"{at}: items of type {kind!r} are not available for this model.",
                          at, "unsupported_value")
    return messages


def _function(t, at: str, namespace: dict | None = None) -> dict:
    if not isinstance(t, dict) or t.get("type") != "function":
        kind = t.get("type") if isinstance(t, dict) else None
        raise Refused(f"{at}: the tool type {kind!r} is not available for this model (function "
                      "tools and namespaces of them are); leave it out of tools.", at,
                      "unsupported_value")
    fn = {k: t[k] for k in ("name", "description", "parameters", "strict") if k in t}
    if namespace is not None:
        fn["name"] = f"{namespace.get('name')}{SEP}{t.get('name')}"
        if namespace.get("description"):
            fn["description"] = f"{namespace['description']}\n\n{t.get('description') or ''}"
    return {"type": "function", "function": fn}


def _tools(tools) -> list[dict]:
    """Function tools, and a namespace's functions each named namespace__name (the providers'
    tool names take letters, digits, `_` and `-`); a name met twice is refused."""
    out: list[dict] = []
    for i, t in enumerate(tools or ()):
        if isinstance(t, dict) and t.get("type") == "namespace":
            if not isinstance(t.get("name"), str) or not isinstance(t.get("tools"), list):
                raise Refused(f"tools[{i}]: a namespace needs a name and tools.", f"tools[{i}]")
            out += [_function(f, f"tools[{i}].tools[{j}]", t) for j, f in enumerate(t["tools"])]
        else:
            out.append(_function(t, f"tools[{i}]"))
    names = [t["function"].get("name") for t in out]
    for name in names:
        if names.count(name) > 1:
            raise Refused(f"tools: the function name {name!r} is given twice.", "tools")
    return out


def namespaced(request: dict) -> dict[str, tuple[str, str]]:
    """Each namespaced function's name to the provider, to its namespace and name."""
    return {f"{t['name']}{SEP}{f.get('name')}": (t["name"], f.get("name"))
            for t in request.get("tools") or () if isinstance(t, dict)
            and t.get("type") == "namespace" and isinstance(t.get("name"), str)
            for f in t.get("tools") or () if isinstance(f, dict)}


def _call_name(item: dict, names: dict) -> dict:
    """A function call item with its namespace restored, where it has one."""
    if item.get("name") in names:
        item["namespace"], item["name"] = names[item["name"]]
    return item


def to_chat(body: dict) -> dict:
    """The Chat Completions request a stateless Responses request is."""
    for name in body:
        if name not in _KNOWN:
            raise Refused(f"Unrecognized request argument supplied: {name}", name,
                          "unknown_parameter")
    for name in _STATEFUL:
        if body.get(name) is not None:
            raise Refused(f"{name}: this model is served statelessly here; send the whole "
                          "conversation as input.", name, "unsupported_parameter")
    if body.get("store") is True:
        raise Refused("store: responses of this model are not stored; send store: false.",
                      "store", "unsupported_parameter")
    if body.get("background") not in (None, False):
        raise Refused("background: not available for this model; stream instead.",
                      "background", "unsupported_parameter")
    if body.get("truncation") not in (None, "disabled"):
        raise Refused("truncation: only 'disabled' here.", "truncation", "unsupported_value")
    if body.get("top_logprobs") not in (None, 0):
        raise Refused("top_logprobs is not available for this model.", "top_logprobs")
    for value in body.get("include") or ():
        if value != CARRIER:
            raise Refused(f"include: only {CARRIER!r} here.", "include", "unsupported_value")
    chat: dict = {"model": body.get("model"), "messages": _messages(body)}
    tools = _tools(body.get("tools"))
    if tools:
        chat["tools"] = tools
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        chat["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif choice is not None:
        chat["tool_choice"] = choice
    for src, dst in (("parallel_tool_calls", "parallel_tool_calls"),
                     ("max_output_tokens", "max_completion_tokens"),
                     ("temperature", "temperature"), ("top_p", "top_p"),
                     ("user", "user"), ("safety_identifier", "safety_identifier"),
                     ("service_tier", "service_tier"), ("stream", "stream")):
        if body.get(src) is not None:
            chat[dst] = body[src]
    if body.get("stream") is True:
        chat["stream_options"] = {"include_usage": True}
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    fmt = (body.get("text") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": {
            k: fmt[k] for k in ("name", "schema", "strict") if k in fmt}}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    return chat


def usage(u: dict | None) -> dict | None:
    """Chat usage as Responses' (its detail counts always present, 0 when unknown)."""
    if not isinstance(u, dict):
        return None
    details = u.get("prompt_tokens_details") or {}
    return {"input_tokens": u.get("prompt_tokens", 0),
            "input_tokens_details": {"cached_tokens": details.get("cached_tokens", 0)},
            "output_tokens": u.get("completion_tokens", 0),
            "output_tokens_details": {"reasoning_tokens": (u.get(
                "completion_tokens_details") or {}).get("reasoning_tokens", 0)},
            "total_tokens": u.get("total_tokens", 0)}


STATUS = {"length": ("incomplete", "max_output_tokens"),
          "content_filter": ("incomplete", "content_filter")}


def output_items(message: dict, names: dict | None = None) -> list[dict]:
    """One chat message as output items: reasoning, then the message, then its calls
    (`names`: the request's namespaced functions)."""
    items = []
    if message.get("reasoning_content") or message.get("reasoning_details"):
        item = {"type": "reasoning", "id": _id("rs"), "summary": [
            {"type": "summary_text", "text": message.get("reasoning_content") or ""}]}
        if message.get("reasoning_details"):
            item["encrypted_content"] = pack_reasoning(message["reasoning_details"])
        items.append(item)
    if message.get("content"):
        items.append({"type": "message", "id": _id("msg"), "role": "assistant",
                      "status": "completed", "content": [
                          {"type": "output_text", "text": message["content"],
                           "annotations": []}]})
    for call in message.get("tool_calls") or ():
        items.append(_call_name({
            "type": "function_call", "id": _id("fc"), "call_id": call["id"],
            "name": call["function"]["name"], "arguments": call["function"]["arguments"],
            "status": "completed"}, names or {}))
    return items


def envelope(request: dict, created: int, rid: str) -> dict:
    """A response object's fields that echo the request (typed clients require them)."""
    return {"id": rid, "object": "response", "created_at": created, "status": "in_progress",
            "model": request.get("model"), "output": [], "error": None,
            "incomplete_details": None, "instructions": request.get("instructions"),
            "tools": request.get("tools") or [], "tool_choice": request.get("tool_choice",
                                                                             "auto"),
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "temperature": request.get("temperature"), "top_p": request.get("top_p"),
            "max_output_tokens": request.get("max_output_tokens"),
            "reasoning": request.get("reasoning"), "store": False, "usage": None,
            "metadata": request.get("metadata") or {}}


def from_chat(completion: dict, request: dict, created: int | None = None) -> dict:
    """A chat completion (one choice) as the response object."""
    choice = (completion.get("choices") or [{}])[0]
    out = envelope(request, created or int(time.time()), _id("resp"))
    out["output"] = output_items(choice.get("message") or {}, namespaced(request))
    status = STATUS.get(choice.get("finish_reason"))
    out["status"] = status[0] if status else "completed"
    out["incomplete_details"] = {"reason": status[1]} if status else None
    out["model"] = completion.get("model") or out["model"]
    out["usage"] = usage(completion.get("usage"))
    return out


class EventStream:
    """A chat completion's stream (its SSE bytes, as a provider's chat translator gives them)
    as Responses' named events, numbered from 0: created, in progress, each output item
    added, its deltas and done, then completed (or incomplete, or failed)."""

    def __init__(self, request: dict, created: int | None = None) -> None:
        from addons.wire.framing import SSEDecoder

        self._sse = SSEDecoder()
        self.request = request
        self.names = namespaced(request)
        self.response = envelope(request, created or int(time.time()), _id("resp"))
        self.seq = 0
        self.out: list[bytes] = []
        self.items: list[dict] = []  # done
        self.open: dict | None = None  # the item being streamed
        self.calls: dict[int, dict] = {}  # chat tool-call index: its item
        self.finish: str | None = None
        self.usage: dict | None = None
        self.details: dict[int, dict] = {}
        self.ended = False
        self.started = False

    def _event(self, kind: str, **fields) -> None:
        payload = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        self.out.append(b"event: %s\ndata: %s\n\n" % (kind.encode(), compact(payload)))

    def _start(self) -> None:
        if not self.started:
            self.started = True
            self._event("response.created", response=self.response)
            self._event("response.in_progress", response=self.response)

    def _index(self) -> int:
        return len(self.items)

    def _close(self) -> None:
        item, self.open = self.open, None
        if item is None:
            return
        i = self._index()
        if item["type"] == "reasoning":
            text = item["summary"][0]["text"] if item["summary"] else ""
            self._event("response.reasoning_summary_text.done", item_id=item["id"],
                        output_index=i, summary_index=0, text=text)
            self._event("response.reasoning_summary_part.done", item_id=item["id"],
                        output_index=i, summary_index=0,
                        part={"type": "summary_text", "text": text})
            if self.details:
                item["encrypted_content"] = pack_reasoning(list(self.details.values()))
        elif item["type"] == "message":
            part = item["content"][0]
            self._event("response.output_text.done", item_id=item["id"], output_index=i,
                        content_index=0, text=part["text"], logprobs=[])
            self._event("response.content_part.done", item_id=item["id"], output_index=i,
                        content_index=0, part=part)
            item["status"] = "completed"
        else:
            self._event("response.function_call_arguments.done", item_id=item["id"],
                        output_index=i, arguments=item["arguments"])
            item["status"] = "completed"
        self._event("response.output_item.done", output_index=i, item=item)
        self.items.append(item)

    def _open(self, item: dict) -> None:
        self._close()
        self.open = item
        i = self._index()
        self._event("response.output_item.added", output_index=i, item={
            **item, **({"summary": []} if item["type"] == "reasoning" else {}),
            **({"content": []} if item["type"] == "message" else {})})
        if item["type"] == "reasoning":
            self._event("response.reasoning_summary_part.added", item_id=item["id"],
                        output_index=i, summary_index=0,
                        part={"type": "summary_text", "text": ""})
        elif item["type"] == "message":
            self._event("response.content_part.added", item_id=item["id"], output_index=i,
                        content_index=0, part={"type": "output_text", "text": "",
                                               "annotations": []})

    def _delta(self, d: dict) -> None:
        for piece in d.get("reasoning_details") or ():
            entry = self.details.setdefault(piece.get("index", 0), {**piece, "text": ""})
            entry["text"] = entry.get("text", "") + (piece.get("text") or "")
            for key in ("signature", "data", "id"):
                if piece.get(key):
                    entry[key] = piece[key]
        if d.get("reasoning_content"):
            if self.open is None or self.open["type"] != "reasoning":
                self._open({"type": "reasoning", "id": _id("rs"),
                            "summary": [{"type": "summary_text", "text": ""}]})
            self.open["summary"][0]["text"] += d["reasoning_content"]
            self._event("response.reasoning_summary_text.delta", item_id=self.open["id"],
                        output_index=self._index(), summary_index=0,
                        delta=d["reasoning_content"])
        if d.get("content"):
            if self.open is None or self.open["type"] != "message":
                self._open({"type": "message", "id": _id("msg"), "role": "assistant",
                            "status": "in_progress", "content": [
                                {"type": "output_text", "text": "", "annotations": []}]})
            self.open["content"][0]["text"] += d["content"]
            self._event("response.output_text.delta", item_id=self.open["id"],
                        output_index=self._index(), content_index=0, delta=d["content"],
                        logprobs=[])
        for tc in d.get("tool_calls") or ():
            k = tc.get("index", 0)
            fn = tc.get("function") or {}
            if k not in self.calls:
                item = _call_name({
                    "type": "function_call", "id": _id("fc"), "call_id": tc.get("id"),
                    "name": fn.get("name"), "arguments": "", "status": "in_progress"},
                    self.names)
                self.calls[k] = item
                self._open(item)
            item = self.calls[k]
            if fn.get("arguments") and item is self.open:
                item["arguments"] += fn["arguments"]
                self._event("response.function_call_arguments.delta", item_id=item["id"],
                            output_index=self._index(), delta=fn["arguments"])

    def _end(self, failed: dict | None = None) -> None:
        self._close()
        r = self.response
        r["output"] = self.items
        r["usage"] = usage(self.usage)
        if failed is not None:
            r["status"], r["error"] = "failed", failed
            self._event("response.failed", response=r)
        else:
            status = STATUS.get(self.finish)
            r["status"] = status[0] if status else "completed"
            r["incomplete_details"] = {"reason": status[1]} if status else None
            self._event("response.incomplete" if status else "response.completed", response=r)
        self.ended = True

    def feed(self, chunk: bytes) -> bytes:
        if self.ended:
            return b""
        self._start()
        for ev in self._sse.feed(chunk):
            if ev.data == "[DONE]":
                self._end()
                break
            obj = json.loads(ev.data)
            if isinstance(obj.get("error"), dict):
                err = obj["error"]
                self._end({"code": err.get("code") or "server_error",
                           "message": err.get("message") or ""})
                break
            if obj.get("model"):
                self.response["model"] = obj["model"]
            if obj.get("usage"):
                self.usage = obj["usage"]
            for choice in obj.get("choices") or ():
                self._delta(choice.get("delta") or {})
                self.finish = choice.get("finish_reason") or self.finish
        out, self.out = b"".join(self.out), []
        return out

    def finish_stream(self) -> bytes:
        if not self.ended:
            self._start()
            self._end({"code": "server_error",
                       "message": "The upstream stream ended before it finished."})
        out, self.out = b"".join(self.out), []
        return out
