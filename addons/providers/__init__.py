"""The provider descriptions. Adding a provider means adding one module and naming it here."""

from dataclasses import replace

from addons.providers import anthropic, gemini, openai
from addons.providers.base import (
    FORWARDED,
    FORWARDED_PREFIXES,
    STATUS,
    Endpoint,
    OutputCap,
    Provider,
)

BUILTIN: dict[str, Provider] = {
    m.PROVIDER.name: m.PROVIDER for m in (anthropic, openai, gemini)
}
# What answers a request that names no provider (an unknown route, /v1/models, a head too
# large to read): OpenAI's shape, the lingua franca of the SDKs.
UNROUTED = openai.PROVIDER
# Answer headers about the business's own account upstream (its organization, its rate
# limits), never shown to a customer; a name ending in "-" is a prefix.
UPSTREAM_ONLY = tuple(sorted({h for p in BUILTIN.values() for h in p.upstream_only}))

# Token counting's endpoints: limited in a request window of their own.
COUNTING = tuple(sorted({ep.name for top in BUILTIN.values() for p in (top, *top.dialects.values())
                         for ep in p.endpoints if ep.free}))


def upstreams(env) -> dict[str, str]:
    """Each provider's origin: its own, or the operator's from its `upstream_env`."""
    return {name: (env.get(p.upstream_env) or p.upstream).rstrip("/")
            for name, p in BUILTIN.items()}


def report(env, keys: dict) -> list[dict]:
    """What the operator's page shows of each provider: name, origin, how many keys it has
    (`keys`: the pool's, by provider) and where one is set; never a key."""
    return [{"provider": name, "url": url, "configured": bool(keys.get(name)),
             "keys": len(keys.get(name) or ()), "credential_env": BUILTIN[name].credential_env}
            for name, url in upstreams(env).items()]


def configured(upstreams: dict[str, str],
               extra_headers: frozenset[str] = frozenset()) -> dict[str, Provider]:
    """The built-in providers (and their dialects), each pointed at its configured upstream
    origin and forwarding the operator's extra headers too."""

    def setup(p: Provider, upstream: str) -> Provider:
        return replace(p, upstream=upstream, forward_headers=p.forward_headers | extra_headers,
                       dialects={k: setup(d, upstream) for k, d in p.dialects.items()})

    return {name: setup(p, upstreams.get(name, p.upstream)) for name, p in BUILTIN.items()}


__all__ = ["BUILTIN", "COUNTING", "FORWARDED", "FORWARDED_PREFIXES", "STATUS", "UNROUTED",
           "UPSTREAM_ONLY", "Endpoint", "OutputCap", "Provider", "configured", "report",
           "upstreams"]
