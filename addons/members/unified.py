"""The unified API's dispatch: which provider serves a call that came on /v1/chat/completions,
/v1/responses or /v1/embeddings, from the catalog's entry for the model it names (never from
the name's look), and the call turned into that provider's native request where it is not
OpenAI. The translations themselves are the providers' own (providers/<name>/chat.py)."""

from __future__ import annotations

import time

from addons.call import Call
from addons.providers.anthropic import chat as anthropic_chat
from addons.providers.gemini import chat as gemini_chat
from addons.providers.gemini import embed as gemini_embed
from addons.providers.openai import responses as openai_responses
from addons.providers.openai.chat import Refused
from addons.wire.bodies import RawJSON


class Unserved(ValueError):
    """The model is known but not served on this unified route yet: OpenAI's 400."""


class Translation:
    """A unified call served by another provider: how it is asked natively, and how its
    answer, stream and errors come back. One per provider and API, over the provider's
    translation modules."""

    module = None  # the provider's translation module (providers/<name>/chat.py)

    def __init__(self, body: dict) -> None:
        self.created = int(time.time())
        self.stream = body.get("stream") is True
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and options.get("include_usage") is True

    def stream_parser(self):
        return self.module.ChatStream(self.created, self.include_usage)

    def answer(self, obj: dict, metered: int = 0) -> dict:
        """The native answer in OpenAI's shape (`metered`: the tokens the gateway recorded,
        for an answer that reports none)."""
        return self.module.response(obj, self.created)

    def error(self, status: int, obj) -> tuple[int, dict]:
        return self.module.error(status, obj)

    def retry_after(self, obj) -> int | None:
        """Seconds to wait that the error's body gives (Gemini's RetryInfo), if any."""
        read = getattr(self.module, "retry_after", None)
        return read(obj) if read else None


class AnthropicChat(Translation):
    module = anthropic_chat

    def native(self, body: dict, name: str, entry: dict, salt: str) -> tuple[dict, str]:
        return anthropic_chat.request(body, name, entry.get("max_output_tokens"),
                                      salt), "messages"


class GeminiChat(Translation):
    module = gemini_chat

    def native(self, body: dict, name: str, entry: dict, salt: str) -> tuple[dict, str]:
        method = "streamGenerateContent?alt=sse" if self.stream else "generateContent"
        return gemini_chat.request(body, name), f"models/{name}:{method}"


class GeminiEmbeddings(Translation):
    """Embeddings served by Gemini: never streamed; errors as its chat's."""

    module = gemini_chat

    def native(self, body: dict, name: str, entry: dict, salt: str) -> tuple[dict, str]:
        self.model, self.encoding = name, body.get("encoding_format")
        return gemini_embed.request(body, name), f"models/{name}:batchEmbedContents"

    def answer(self, obj: dict, metered: int = 0) -> dict:
        return gemini_embed.response(obj, self.model, self.encoding, metered)


class ResponsesStream:
    """A provider's chat stream (its parser, which metering reads) whose chunks go on as
    Responses' events."""

    def __init__(self, chat_stream, request: dict, created: int) -> None:
        self.inner = chat_stream
        self.events = openai_responses.EventStream(request, created)

    def __getattr__(self, name):  # usage, model, complete ...: the metering's reading
        return getattr(self.inner, name)

    def feed(self, chunk: bytes) -> bytes:
        return self.events.feed(self.inner.feed(chunk))

    def finish(self) -> bytes:
        return self.events.feed(self.inner.finish()) + self.events.finish_stream()


class ResponsesVia(Translation):
    """A stateless Responses call, served through the provider's chat translation."""

    chat_translation: type[Translation]

    def __init__(self, body: dict) -> None:
        super().__init__(body)
        self.request = body
        self.chat_body = openai_responses.to_chat(body)
        self.chat = self.chat_translation(self.chat_body)
        self.module = self.chat.module

    def native(self, body: dict, name: str, entry: dict, salt: str) -> tuple[dict, str]:
        return self.chat.native(self.chat_body, name, entry, salt)

    def stream_parser(self):
        return ResponsesStream(self.chat.stream_parser(), self.request, self.created)

    def answer(self, obj: dict, metered: int = 0) -> dict:
        return openai_responses.from_chat(self.chat.answer(obj, metered), self.request,
                                          self.created)


class AnthropicResponses(ResponsesVia):
    chat_translation = AnthropicChat


class GeminiResponses(ResponsesVia):
    chat_translation = GeminiChat


TRANSLATIONS = {("anthropic", "chat/completions"): AnthropicChat,
                ("anthropic", "responses"): AnthropicResponses,
                ("gemini", "responses"): GeminiResponses,
                ("gemini", "chat/completions"): GeminiChat,
                ("gemini", "embeddings"): GeminiEmbeddings}


_ENDPOINTS: dict = {}  # (provider name, path) -> its endpoint: a few paths, found once each


def _endpoint(provider, path: str):
    found = _ENDPOINTS.get((provider.name, path))
    if found is None:
        found = _ENDPOINTS[(provider.name, path)] = provider.find_endpoint("POST", path)
    return found


def model_entry(prices, providers, model) -> tuple[str, dict] | None:
    """The catalog's name and entry for a model named as the catalog names it or as
    `provider/model`, where the provider is the one the catalog gives it."""
    if not isinstance(model, str) or not model or prices is None:
        return None
    prefix, slash, bare = model.partition("/")
    prefixed = bool(slash) and prefix in providers
    name = bare if prefixed else model
    entry = prices.entry(name)
    if entry is None or (prefixed and entry["provider"] != prefix):
        return None
    return name, entry


def dispatch(call: Call, providers: dict, name: str, entry: dict,
             user_salt: str) -> str | None:
    """The call pointed at the provider that serves `name`: the body left as it is for
    OpenAI (the model's bare name), translated for the others (then the upstream path after
    the version, with its query, is returned). Raises Refused (a parameter that cannot be
    honoured) or Unserved."""
    body = call.body
    provider = providers.get(entry["provider"])
    if provider is None:
        raise Unserved(f"The model {name!r} is served by {entry['provider']}, which this "
                       "gateway does not serve.")
    if provider.name == call.provider.name:  # OpenAI's own: as it came, the name bare
        if body.get("model") != name:
            body["model"] = name
            call.body_changed = True
        call.model = name
        return None
    translation = TRANSLATIONS.get((provider.name, call.path))
    if translation is None:
        api = {"chat/completions": "Chat Completions", "responses": "Responses",
               "embeddings": "Embeddings"}.get(call.path, f"/v1/{call.path}")
        raise Unserved(f"The model {name!r} is not yet served through the OpenAI-compatible "
                       f"{api} API on this gateway; call it on its native route, "
                       f"/v1/{provider.name}/.")
    if call.large_body:  # its large values kept as text (bodies.py): read to translate
        body = {k: v.load() if isinstance(v, RawJSON) else v for k, v in body.items()}
    call.translation = translation(body)
    native, upstream = call.translation.native(body, name, entry, user_salt)
    path = upstream.partition("?")[0]
    call.speaks, call.provider = call.provider, provider
    call.endpoint = _endpoint(provider, path)
    call.path = path
    call.body, call.body_changed, call.model = native, True, name
    return upstream


__all__ = ["Refused", "TRANSLATIONS", "Unserved", "dispatch", "model_entry"]
