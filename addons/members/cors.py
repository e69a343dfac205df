"""CORS on API routes, as the providers answer it: browser code may call the API with its key
(the SDKs allow it behind an explicit opt-in), never with the admin UI's cookies.

Preflights are answered by the gateway itself (no key is sent with one); API responses to a
request that came with an `Origin` say any origin may read them. Credentials are never allowed:
API calls carry their key in a header, and the admin UI's cookie never reaches an API route.
"""

from __future__ import annotations

from mitmproxy import http

from addons.wire import headers as fields

# What a browser may read of an answer: the request id and the customer's own limits.
EXPOSED = (b"x-request-id, retry-after, x-ratelimit-limit-requests, x-ratelimit-limit-tokens, "
           b"x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens, "
           b"x-ratelimit-reset-requests, x-ratelimit-reset-tokens")
RESPONSE_HEADERS = ((b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", EXPOSED))


def preflight(request: http.Request) -> http.Response:
    asked = fields.first(request.headers, b"access-control-request-headers") or b""
    return http.Response.make(204, b"", {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        # Whatever headers the SDK sends (its own, the provider's): the key rides in one.
        "access-control-allow-headers": asked.decode("latin-1") or "*",
        "access-control-max-age": "86400",
        "vary": "origin, access-control-request-headers",
    })
