"""The provider descriptions. Adding a provider means adding one module and naming it here."""

from dataclasses import replace

from . import anthropic, gemini, openai
from .base import STATUS, Endpoint, Provider

BUILTIN: dict[str, Provider] = {
    m.PROVIDER.name: m.PROVIDER for m in (anthropic, openai, gemini)
}


def configured(upstreams: dict[str, str]) -> dict[str, Provider]:
    """The built-in providers, each pointed at its configured upstream origin."""
    return {name: replace(p, upstream=upstreams.get(name, p.upstream))
            for name, p in BUILTIN.items()}


__all__ = ["BUILTIN", "STATUS", "Endpoint", "Provider", "configured"]
