"""Router and auth as units, with mitmproxy's own test helpers (taddons, tflow)."""

from __future__ import annotations

import pytest
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from addons.call import CALL, Customer, PlanInfo
from addons.members import routes
from addons.members.auth import Auth, remove_query_param, take_customer_key
from addons.members.router import Router
from addons.members.routes import PathRefused, split_segments
from addons.members.upstreams import Upstreams
from addons.providers import BUILTIN, configured
from addons.services.pool import Pool
from models.keyring import KeySpec

UPSTREAMS = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com",
             "gemini": "https://generativelanguage.googleapis.com"}
GOOD_KEY = "gw-" + "A" * 43
CUSTOMER = Customer(1, "c@example.com", 7, "gw-AAAAAAAA",
                    PlanInfo("Startup", 60, 1_000_000, frozenset()))


def hdrs(pairs) -> http.Headers:
    return http.Headers([(k if isinstance(k, bytes) else k.encode(),
                          v if isinstance(v, bytes) else v.encode()) for k, v in pairs])


def flow_for(path: str, method: str = "POST", headers=(), body: bytes = b"{}"):
    req = tutils.treq(host="placeholder.invalid", port=1, path=path.encode(),
                      method=method.encode(),
                      headers=hdrs([("host", "placeholder.invalid:1"), *headers]), content=body)
    return tflow.tflow(req=req)


def route(path: str, **kw):
    f = flow_for(path, **kw)
    with taddons.context():
        Router(configured(UPSTREAMS)).requestheaders(f)
    return f


@pytest.mark.parametrize("path,url", [
    ("/v1/anthropic/messages", "https://api.anthropic.com/v1/messages"),
    ("/v1/anthropic/v1/messages?beta=true", "https://api.anthropic.com/v1/messages?beta=true"),
    ("/v1/openai/chat/completions", "https://api.openai.com/v1/chat/completions"),
    ("/v1/openai/v1/responses", "https://api.openai.com/v1/responses"),
    ("/v1/gemini/models/gemini-2.5-flash:generateContent",
     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
    ("/v1/gemini/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
     "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
    ("/v1/gemini/v1alpha/models/m-1:countTokens",
     "https://generativelanguage.googleapis.com/v1alpha/models/m-1:countTokens"),
])
def test_routes_to_provider_with_default_version(path, url):
    f = route(path)
    assert f.response is None
    assert f.request.url == url
    assert f.request.host_header == url.split("/")[2]
    assert f.metadata[CALL].provider.name == path.split("/")[2]


def test_http2_authority_follows_the_origin():
    f = flow_for("/v1/openai/chat/completions", headers=[])
    f.request.http_version = "HTTP/2.0"
    f.request.authority = "gateway.example:8080"
    with taddons.context():
        Router(configured(UPSTREAMS)).requestheaders(f)
    assert f.request.authority == "api.openai.com"
    assert f.request.url == "https://api.openai.com/v1/chat/completions"


def test_origin_with_a_port_and_prefix():
    f = flow_for("/v1/openai/chat/completions")
    with taddons.context():
        Router(configured({**UPSTREAMS, "openai": "http://127.0.0.1:9001/base/"})).requestheaders(f)
    assert f.request.url == "http://127.0.0.1:9001/base/v1/chat/completions"
    assert f.request.headers["host"] == "127.0.0.1:9001"


def test_encoded_request_body_is_read_decoded():
    import gzip

    f = flow_for("/v1/openai/chat/completions", headers=[("content-encoding", "gzip")],
                 body=gzip.compress(b'{"model": "gpt-4o-mini", "messages": []}'))
    router = Router(configured(UPSTREAMS))
    with taddons.context():
        router.requestheaders(f)
        router.request(f)
    assert f.response is None and f.metadata[CALL].model == "gpt-4o-mini"


def test_query_bytes_pass_unchanged():
    f = route("/v1/gemini/models/m:streamGenerateContent?alt=sse&x=%2F%20a+b")
    assert f.request.path.endswith("?alt=sse&x=%2F%20a+b")


@pytest.mark.parametrize("path", ["/v1/openai/files", "/v1/anthropic/v1/messages/batches",
                                  "/v1/gemini/v1beta/tunedModels/x:generateContent",
                                  "/v1/openai"])
def test_endpoint_outside_allow_list_is_404(path):
    f = route(path)
    assert f.response.status_code == 404
    assert f.request.host == "placeholder.invalid"  # never rewritten to the provider


def test_method_is_part_of_the_allow_list():
    assert route("/v1/openai/embeddings", method="GET").response.status_code == 404
    assert route("/v1/openai/chat/completions", method="PUT").response.status_code == 404
    assert route("/v1/openai/chat/completions", method="GET").response is None  # the list


def test_healthz_and_admin_paths():
    assert route("/healthz", method="GET").response.status_code == 200
    f = route("/login", method="GET")
    assert f.response is None and CALL not in f.metadata


@pytest.mark.parametrize("raw", ["/v1/openai/../x", "/v1/openai/a/./b", "/v1/openai//x",
                                 "/v1/openai/%2e%2e/x", "/v1/openai/%2E/x", "/v1/openai/a%2fb",
                                 "/v1/openai/a%5Cb", "/v1/openai/a\\b", "/v1/openai/%00",
                                 "/v1/openai/%252e%252e", "/v1/openai/%ff", "/v1/openai/a b"])
def test_path_tricks_refused(raw):
    with pytest.raises(PathRefused):
        split_segments(raw)
    f = route(raw)
    assert f.response.status_code == 400
    assert f.request.host == "placeholder.invalid"


def test_key_from_each_carrier_and_all_removed():
    for headers, path in [
        ((("x-api-key", GOOD_KEY),), "/p"),
        ((("authorization", f"Bearer {GOOD_KEY}"),), "/p"),
        ((("x-goog-api-key", GOOD_KEY),), "/p"),
        ((), f"/p?alt=sse&key={GOOD_KEY}"),
    ]:
        req = tutils.treq(path=path.encode(), headers=hdrs(headers))
        assert take_customer_key(req) == GOOD_KEY
        assert GOOD_KEY not in req.path and GOOD_KEY not in str(req.headers)


def test_remove_query_param_keeps_other_bytes():
    assert remove_query_param("/a?x=%2F&key=s&y=1+2", "key") == ("/a?x=%2F&y=1+2", ["s"])
    assert remove_query_param("/a?key=s", "key") == ("/a", ["s"])
    assert remove_query_param("/a", "key") == ("/a", [])


class FakeKeys:
    """The key cache's interface: nothing cached, every look-up a miss."""

    def __init__(self, customer):
        self.customer = customer
        self.asked = []

    def cached(self, digest):
        return False, None

    async def resolve_digest(self, digest):
        from models.security import hash_key

        self.asked.append(digest)
        return self.customer if digest == hash_key(GOOD_KEY) else None


UPSTREAM_KEYS = {"anthropic": "sk-up-a", "openai": "sk-up-o", "gemini": "AIza-up"}


def Credentials(keys: dict) -> Upstreams:
    """The member that puts a provider key on, over a pool of one key per provider."""
    return Upstreams(Pool({p: [KeySpec(p, p, k)] for p, k in keys.items()}))


async def run_auth(path, headers, keys, inject=False):
    f = flow_for(path, headers=headers)
    with taddons.context():
        Router(configured(UPSTREAMS)).requestheaders(f)
        if pending := Auth(keys).requestheaders(f):
            await pending
        if inject:
            Credentials(UPSTREAM_KEYS).request(f)
    return f


async def test_credential_injected_its_way_then_redacted():
    keys = FakeKeys(CUSTOMER)
    f = await run_auth("/v1/anthropic/messages",
                       [(b"authorization", f"Bearer {GOOD_KEY}".encode())], keys)
    assert "x-api-key" not in f.request.headers  # not before the last request hook
    with taddons.context():
        Credentials(UPSTREAM_KEYS).request(f)
    assert f.request.headers["x-api-key"] == "sk-up-a"
    assert "authorization" not in f.request.headers
    assert f.request.headers["anthropic-version"] == "2023-06-01"
    assert f.request.headers["accept-encoding"] == "identity"
    f = await run_auth("/v1/openai/chat/completions", [(b"x-api-key", GOOD_KEY.encode()),
                                                       (b"openai-organization", b"org-c")],
                       keys, inject=True)
    assert f.request.headers["authorization"] == "Bearer sk-up-o"
    assert "x-api-key" not in f.request.headers and "openai-organization" not in f.request.headers
    f = await run_auth(f"/v1/gemini/models/m:generateContent?alt=sse&key={GOOD_KEY}", [], keys,
                       inject=True)
    assert f.request.path == "/v1beta/models/m:generateContent?alt=sse&key=AIza-up"
    assert f.metadata[CALL].customer == CUSTOMER
    with taddons.context():
        Credentials(UPSTREAM_KEYS).responseheaders(f)  # it has gone upstream: redact
    assert f.request.path == "/v1beta/models/m:generateContent?alt=sse&key=[redacted]"


async def test_client_version_header_kept_and_header_credential_redacted():
    f = await run_auth("/v1/anthropic/messages",
                       [(b"x-api-key", GOOD_KEY.encode()), (b"Anthropic-Version", b"2024-01-01"),
                        (b"Accept-Encoding", b"gzip, br")], FakeKeys(CUSTOMER), inject=True)
    assert f.request.headers.get_all("anthropic-version") == ["2024-01-01"]
    assert f.request.headers.get_all("accept-encoding") == ["identity"]
    assert f.request.headers.get_all("x-api-key") == ["sk-up-a"]
    with taddons.context():
        Credentials(UPSTREAM_KEYS).responseheaders(f)
    assert f.request.headers.get_all("x-api-key") == ["[redacted]"]
    assert "sk-up-a" not in bytes(f.request.headers).decode()


async def test_no_credential_for_a_refused_call():
    f = await run_auth("/v1/openai/chat/completions", [], FakeKeys(CUSTOMER), inject=True)
    assert f.response.status_code == 401
    assert "authorization" not in f.request.headers


async def test_auth_refuses_in_provider_shape_without_lookup_for_garbage():
    keys = FakeKeys(CUSTOMER)
    f = await run_auth("/v1/anthropic/messages", [(b"x-api-key", "gw-ü\x00".encode())], keys)
    assert f.response.status_code == 401
    assert f.response.json()["error"]["type"] == "authentication_error"
    assert keys.asked == []
    f = await run_auth("/v1/gemini/models/m:generateContent", [], keys)
    assert f.response.json()["error"]["status"] == "UNAUTHENTICATED"


async def test_auth_failure_fails_closed():
    class Broken(FakeKeys):
        async def resolve_digest(self, digest):
            raise RuntimeError("database is locked")

    f = await run_auth("/v1/openai/chat/completions", [(b"x-api-key", GOOD_KEY.encode())],
                       Broken(None))
    assert f.response.status_code == 502
    assert f.metadata[CALL].customer is None


# --- Route resolution, without flows ---------------------------------------------------------


def test_routes_resolve_a_method_and_path_to_an_endpoint_or_a_refusal():
    providers = BUILTIN
    assert routes.name(providers, "GET", "/login") is None  # the admin app's
    assert routes.name(providers, "GET", "/v1/models") is routes.MODELS
    bad = routes.name(providers, "GET", "/v1/openai/%2e%2e/admin")
    assert (bad.kind, bad.code, bad.provider.name) == ("invalid_request", "invalid_path", "openai")
    unknown = routes.name(providers, "POST", "/v1/mistral/chat")
    assert (unknown.kind, unknown.code) == ("not_found", "unknown_route")
    assert "anthropic, gemini, openai" in unknown.message

    named = routes.name(providers, "POST", "/v1/anthropic/messages")
    found = routes.route(named, "POST", "/v1/anthropic/messages", "beta=true")
    assert (found.endpoint.name, found.path, found.upstream) == (
        "messages", "messages", "v1/messages?beta=true")  # the default version put in front
    gem = "/v1/gemini/v1beta/models/gemini-2.5-flash:generateContent"
    found = routes.route(routes.name(providers, "POST", gem), "POST", gem, "alt=sse&fields=x")
    assert found.upstream == "v1beta/models/gemini-2.5-flash:generateContent?alt=sse"
    dialect = "/v1/gemini/v1beta/openai/chat/completions"
    found = routes.route(routes.name(providers, "POST", dialect), "POST", dialect, "")
    assert (found.provider.name, found.endpoint.name) == ("gemini", "openai.chat.completions")
    assert found.upstream == "v1beta/openai/chat/completions"

    refused = routes.route(routes.name(providers, "DELETE", "/v1/openai/chat/completions"),
                           "DELETE", "/v1/openai/chat/completions", "")
    assert (refused.kind, refused.provider.name) == ("not_found", "openai")
    proto = routes.route(routes.name(providers, "POST", gem), "POST", gem, "alt=proto")
    assert proto.kind == "invalid_request" and proto.provider.name == "gemini"


@pytest.mark.parametrize("path,upstream", [("/v1/chat/completions", "v1/chat/completions"),
                                           ("/v1/responses", "v1/responses"),
                                           ("/v1/embeddings", "v1/embeddings")])
def test_unified_paths_name_openai_until_the_body_names_the_model(path, upstream):
    named = routes.name(BUILTIN, "POST", path)
    assert named.provider.name == "openai" and named.unified
    found = routes.route(named, "POST", path, "")
    assert found.upstream == upstream and found.path == upstream[3:]


@pytest.mark.parametrize("path", ["/v1", "/v1/chat", "/v1/chatx/completions", "/v1/openai",
                                  "/v1/responsesx", "/v1/chat/x"])
def test_paths_near_the_unified_ones_are_not_unified(path):
    named = routes.name(BUILTIN, "POST", path)
    assert not isinstance(named, routes.Named) or not named.unified


@pytest.mark.parametrize("method,path,endpoint", [
    ("GET", "/v1/chat/completions", "chat.completions.list"),
    ("POST", "/v1/chat/completions/chatcmpl-1", "chat.completions.update"),
    ("GET", "/v1/chat/completions/chatcmpl-1/messages", "chat.completions.messages"),
    ("GET", "/v1/responses/resp_1/input_items", "responses.input_items"),
    ("POST", "/v1/responses/compact", "responses.compact"),
    ("DELETE", "/v1/responses/resp_1", "responses.get"),
])
def test_openais_stored_objects_are_served_under_the_unified_paths(method, path, endpoint):
    """Below the unified paths the objects are OpenAI's: served there as on /v1/openai/;
    only the paths whose body names a model are dispatched by it."""
    named = routes.name(BUILTIN, method, path)
    assert named.provider.name == "openai" and named.unified
    found = routes.route(named, method, path, "")
    assert found.endpoint.name == endpoint and found.upstream == path[1:]
    dispatched = method == "POST" and found.path in routes.BY_MODEL  # the router's test
    assert dispatched == (endpoint == "responses.compact")
