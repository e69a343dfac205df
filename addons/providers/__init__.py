"""The provider descriptions. Adding a provider means adding one module and naming it here."""

from dataclasses import replace

from . import anthropic, gemini, openai
from .base import FORWARDED, FORWARDED_PREFIXES, STATUS, Endpoint, OutputCap, Provider

BUILTIN: dict[str, Provider] = {
    m.PROVIDER.name: m.PROVIDER for m in (anthropic, openai, gemini)
}


def configured(upstreams: dict[str, str],
               extra_headers: frozenset[str] = frozenset()) -> dict[str, Provider]:
    """The built-in providers (and their dialects), each pointed at its configured upstream
    origin and forwarding the operator's extra headers too."""

    def setup(p: Provider, upstream: str) -> Provider:
        return replace(p, upstream=upstream, forward_headers=p.forward_headers | extra_headers,
                       dialects={k: setup(d, upstream) for k, d in p.dialects.items()})

    return {name: setup(p, upstreams.get(name, p.upstream)) for name, p in BUILTIN.items()}


__all__ = ["BUILTIN", "FORWARDED", "FORWARDED_PREFIXES", "STATUS", "Endpoint", "OutputCap",
           "Provider", "configured"]
