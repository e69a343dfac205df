"""The fake Gemini: generateContent (CRLF SSE and the pretty-printed JSON array), token
counting, embeddings, its OpenAI-compatible API, models."""

from __future__ import annotations

import json
import re

from .anthropic import SIGNATURE, example
from .base import FakeServer, Handler, field_mask, words
from .openai import FakeOpenAI


class FakeGemini(FakeServer):
    provider = "gemini"
    MODEL_VERSION = "gemini-2.5-flash"

    def output_cap(self, req: dict) -> int | None:
        cfg = req.get("generationConfig") or req.get("generation_config") or {}
        # proto3's JSON mapping: integers also as strings ("8") or whole floats (8.0).
        cap = int(cfg.get("maxOutputTokens") or cfg.get("max_output_tokens") or 0)
        return cap * int(cfg.get("candidateCount") or 1) if cap else None

    def presented(self, h: Handler) -> str:
        if h.path.startswith("/v1beta/openai/"):
            return (h.headers.get("authorization") or "").removeprefix("Bearer ")
        m = re.search(r"[?&]key=([^&]*)", h.path)
        return m.group(1) if m else (h.headers.get("x-goog-api-key") or "")

    def no_credit(self) -> tuple[int, dict]:
        return 400, {"error": {"code": 400, "message": "Billing is not enabled for this "
                               "project; enable billing to use the API.",
                               "status": "FAILED_PRECONDITION"}}

    def authorized(self, h: Handler) -> bool:
        if h.path.startswith("/v1beta/openai/"):
            return h.headers.get("authorization") == f"Bearer {self.state.secret}"
        m = re.search(r"[?&]key=([^&]*)", h.path)
        key = m.group(1) if m else h.headers.get("x-goog-api-key")
        return key == self.state.secret

    def auth_error(self):
        return 400, {"error": {"code": 400, "message": "API key not valid. Please pass a "
                               "valid API key.", "status": "INVALID_ARGUMENT",
                               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                            "reason": "API_KEY_INVALID",
                                            "domain": "googleapis.com"}]}}

    def error_body(self, status: int, wait: float | None = None) -> dict:
        name = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 500: "INTERNAL"}.get(
            status, "INTERNAL")
        err = {"code": status, "message": "fake failure", "status": name}
        if status == 429:  # how long to wait, in the body only
            err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                               "retryDelay": f"{wait if wait is not None else 36.5:.1f}s"}]
        return {"error": err}

    def usage_meta(self, u: dict, candidates: int | None = None) -> dict:
        cand = u["out"] - u["reasoning"] if candidates is None else candidates
        prompt = u["in"] + u["cache_read"]
        meta = {"promptTokenCount": prompt, "candidatesTokenCount": cand,
                "totalTokenCount": prompt + cand + u["reasoning"],
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
        if u["reasoning"]:
            meta["thoughtsTokenCount"] = u["reasoning"]
        if u["cache_read"]:
            meta["cachedContentTokenCount"] = u["cache_read"]
        return meta

    # The OpenAI-compatible API (v1beta/openai/...) answers as OpenAI does.
    CHAT_MODEL = "gemini-2.5-flash"
    chat_usage = FakeOpenAI.chat_usage
    chat = FakeOpenAI.chat

    def route(self, h: Handler, req: dict, u: dict, mode: str, nwords: int) -> None:
        path = h.path.split("?")[0]
        if path.startswith("/v1beta/openai/"):
            self.openai_compatible(h, path.removeprefix("/v1beta/openai/"), req, u, mode,
                                   nwords)
            return
        m = re.fullmatch(r"/(v1|v1beta|v1alpha)/models/([^/:]+):(\w+)", path)
        if m and m.group(3) in ("generateContent", "streamGenerateContent"):
            searched = any("google_search" in t or "googleSearch" in t
                           for t in req.get("tools") or [] if isinstance(t, dict))
            candidates = (req.get("generationConfig") or {}).get("candidateCount") or 1
            candidates = int(candidates)  # proto3 JSON: "8" and 8.0 are 8
            refused = self.refuse_replay(req, m.group(2))
            if refused:
                h.send_json(400, {"error": {"code": 400, "message": refused,
                                            "status": "INVALID_ARGUMENT"}})
                return
            self.generate(h, m.group(3) == "streamGenerateContent", u, mode, nwords,
                          h.searches if searched else 0, candidates, m.group(2),
                          self.parts(req, m.group(2)))
        elif m and m.group(3) == "countTokens":
            h.send_json(200, {"totalTokens": u["in"],
                              "promptTokensDetails": [{"modality": "TEXT",
                                                       "tokenCount": u["in"]}]})
        elif m and m.group(3) in ("embedContent", "batchEmbedContents"):
            vec = {"values": [0.013168523, -0.008711934, -0.046782676]}
            self.report({**u, "out": 0})
            meta = {"promptTokenCount": u["in"], "totalTokenCount": u["in"]}
            if m.group(3) == "embedContent":
                h.send_json(200, {"embedding": vec, "usageMetadata": meta})
            else:
                n = len(req.get("requests") or [1])
                h.send_json(200, {"embeddings": [vec] * n, "usageMetadata": meta})
        elif re.fullmatch(r"/(v1|v1beta|v1alpha)/models(/[^/]+)?", path):
            h.send_json(200, {"models": [{
                "name": "models/gemini-2.5-flash", "version": "001",
                "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576,
                "outputTokenLimit": 65536,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}]})
        else:
            h.send_json(404, {"error": {"code": 404, "message": f"{path} is not found",
                                        "status": "NOT_FOUND"}})

    def openai_compatible(self, h, path, req, u, mode, nwords) -> None:
        if path == "chat/completions":
            self.chat(h, req, u, mode, nwords, {})
        elif path == "embeddings":
            self.report({**u, "out": 0})
            h.send_json(200, {"object": "list", "data": [
                {"object": "embedding", "index": 0, "embedding": [0.0131, -0.0087]}],
                "model": "gemini-embedding-001",
                "usage": {"prompt_tokens": u["in"], "total_tokens": u["in"]}})
        elif path.startswith("models"):
            h.send_json(200, {"object": "list", "data": [
                {"id": "models/gemini-2.5-flash", "object": "model", "created": 0,
                 "owned_by": "google"}]})
        else:  # errors of this API come as a list, in Google's shape
            h.send_json(404, [{"error": {"code": 404, "message": f"{path} is not found",
                                         "status": "NOT_FOUND"}}])

    @staticmethod
    def gemini3(model: str) -> bool:
        return bool(re.match(r"gemini-3", model))

    def parts(self, req: dict, model: str) -> list[dict] | None:
        """The answer's parts where the request asks for more than text, as the API gives
        them: a thought first when thoughts are included; function calls (two, whole) when
        functions are declared, not refused, and the last turn is not their responses, the
        first signed when the model thinks (Gemini 3: with ids); JSON for a schema."""
        gen = req.get("generationConfig") or {}
        thinking = gen.get("thinkingConfig") or {}
        out: list[dict] = []
        if thinking.get("includeThoughts"):
            out.append({"text": "Weighing the cities.", "thought": True})
        decls = [d for t in req.get("tools") or [] for d in t.get("functionDeclarations") or []]
        mode = ((req.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
        last = (req.get("contents") or [{}])[-1]
        answered = any("functionResponse" in p for p in last.get("parts") or [])
        if decls and mode != "NONE" and not answered:
            for i, city in enumerate(("Paris", "Rome")):
                call = {"name": decls[0]["name"],
                        "args": example(decls[0].get("parametersJsonSchema") or {}, city)}
                if self.gemini3(model):
                    call["id"] = f"fc{i}{len(req['contents'])}x"
                part = {"functionCall": call}
                if i == 0 and (thinking or self.gemini3(model)):
                    part["thoughtSignature"] = SIGNATURE
                out.append(part)
            return out
        if gen.get("responseJsonSchema"):
            out.append({"text": json.dumps(example(gen["responseJsonSchema"], "Paris"))})
            return out
        return out or None

    def refuse_replay(self, req: dict, model: str) -> str | None:
        """What the API refuses in a history of calls: an id on a call (Gemini 2.x), a
        Gemini 3 turn whose first call lost its signature, a response to no call."""
        for i, content in enumerate(req.get("contents") or []):
            calls = [p for p in content.get("parts") or [] if "functionCall" in p]
            for p in calls:
                if "id" in p["functionCall"] and not self.gemini3(model):
                    return (f"Invalid JSON payload received. Unknown name \"id\" at "
                            f"'contents[{i}].parts[0].function_call': Cannot find field.")
            if calls and self.gemini3(model) and calls[0].get("thoughtSignature") not in (
                    SIGNATURE, "skip_thought_signature_validator"):
                return (f"Function call is missing a thought_signature in functionCall parts."
                        f" This is required for tools to work correctly (contents[{i}]).")
        return None

    def chunk_obj(self, text: str, meta: dict, finish: bool, searches: int = 0,
                  candidates: int = 1, model: str = MODEL_VERSION,
                  parts: list[dict] | None = None) -> dict:
        cands = []
        for i in range(candidates):
            cand = {"content": {"parts": parts if parts is not None else [{"text": text}],
                                "role": "model"}, "index": i}
            if finish:
                cand["finishReason"] = "STOP"
                if searches:  # grounding metadata comes with the last chunk
                    cand["groundingMetadata"] = {
                        "webSearchQueries": [f"query {q}" for q in range(searches)],
                        "groundingChunks": [{"web": {"uri": "https://example.com",
                                                     "title": "example.com"}}]}
            cands.append(cand)
        return {"candidates": cands, "usageMetadata": meta,
                "modelVersion": model, "responseId": "IZI2acSKMoWl0-kPmYj2yQc"}

    def generate(self, h, stream: bool, u, mode, nwords, searches: int = 0,
                 candidates: int = 1, model: str = MODEL_VERSION,
                 parts: list[dict] | None = None) -> None:
        text = words(nwords)
        if parts is not None and not any("text" in p and not p.get("thought") for p in parts) \
                and not any("functionCall" in p for p in parts):
            parts = [*parts, *({"text": w} for w in text)]  # thoughts, then the text
        if not stream:
            self.report(u)
            h.send_json(200, field_mask(h.path, self.chunk_obj(
                "".join(text), self.usage_meta(u), True, searches, candidates, model, parts)))
            return
        # Running totals: candidates grow chunk by chunk, the last one is final. Parts come
        # one a chunk (a call whole); a Gemini 3 answer ends with its signature on an empty
        # part of a chunk of its own.
        pieces = [[p] for p in parts] if parts is not None else [[{"text": w}] for w in text]
        if parts is not None and self.gemini3(model) and not any(
                "functionCall" in p for p in parts):
            pieces.append([{"text": "", "thoughtSignature": SIGNATURE}])
        pieces = pieces or [[{"text": ""}]]
        n = len(pieces)
        objs = [self.chunk_obj("", self.usage_meta(u, candidates=max(
            1, (u["out"] - u["reasoning"]) * (i + 1) // n)), i == n - 1, searches, candidates,
            model, piece)
            for i, piece in enumerate(pieces)]
        if mode == "error-event":
            objs.insert(len(objs) - 1, {"error": {"code": 500, "message": "Internal error",
                                                  "status": "INTERNAL"}})
            objs = objs[:-1]
        sse_mode = "alt=sse" in h.path
        g = lambda o: json.dumps(o, separators=(",", ": "))  # noqa: E731 (Google's spacing)
        if sse_mode:
            h.start_stream("text/event-stream")
            events = [f"data: {g(o)}\r\n\r\n".encode() for o in objs]
        else:
            h.start_stream("application/json; charset=UTF-8")
            pretty = [json.dumps(o, indent=2).replace("\n", "\r\n") for o in objs]
            events = [b"[" + pretty[0].encode()]
            events += [b"\r\n,\r\n" + p.encode() for p in pretty[1:]]
            events.append(b"\r\n]")
        if h.stream_events(events, mode, final_after=1) and mode != "error-event":
            self.report(u)
