"""The business's provider keys as the operator lists them: comma-separated in each provider's
variable (`ANTHROPIC_API_KEY=k1,k2`), and in `UPSTREAM_KEYS_FILE`, a TOML file giving each key a
name, a weight and the models it may serve:

    [[anthropic]]
    name = "prod-a"          # shown on the Upstreams page, in logs and metrics
    key = "sk-ant-..."       # or key_env = "A_VARIABLE" holding it
    weight = 2               # its share of the calls, against the others' (default 1)
    models = ["claude-sonnet-4-5*"]   # names or prefixes ending in *; default: every model

A key is known by its name, its fingerprint (last 4 characters) and `id`, a one-way hash that
tells keys apart across processes; the key itself is only sent upstream."""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field

# Each provider's variable for its keys (the providers' descriptions name them from here).
VARIABLES = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY",
             "gemini": "GEMINI_API_KEY"}


class KeyFileError(ValueError):
    pass


@dataclass(frozen=True)
class KeySpec:
    provider: str
    name: str
    secret: str = field(repr=False)
    weight: int = 1
    models: tuple[str, ...] = ()  # empty: every model; "x*" a prefix

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.provider}\0{self.secret}".encode()).hexdigest()[:16]

    @property
    def fingerprint(self) -> str:
        return self.secret[-4:]

    def serves(self, model: str | None) -> bool:
        if not self.models or model is None:
            return True
        return any(model.startswith(m[:-1]) if m.endswith("*") else model == m
                   for m in self.models)


def from_env(env) -> dict[str, list[KeySpec]]:
    """Each provider's keys from its variable: named `<provider>-<n>` in the list's order."""
    out: dict[str, list[KeySpec]] = {}
    for name, variable in VARIABLES.items():
        secrets = [s.strip() for s in (env.get(variable) or "").split(",") if s.strip()]
        out[name] = [KeySpec(name, f"{name}-{i}" if len(secrets) > 1 else name, s)
                     for i, s in enumerate(secrets, 1)]
    return out


def from_file(text: str, env) -> dict[str, list[KeySpec]]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise KeyFileError(f"not valid TOML: {e}") from None
    out: dict[str, list[KeySpec]] = {}
    for provider, entries in doc.items():
        if provider not in VARIABLES:
            raise KeyFileError(f"unknown provider {provider!r} (one of {', '.join(VARIABLES)})")
        if not isinstance(entries, list):
            raise KeyFileError(f"{provider}: expected [[{provider}]] entries")
        for i, e in enumerate(entries, 1):
            out.setdefault(provider, []).append(_spec(provider, i, e, env))
    return out


def _spec(provider: str, i: int, e: dict, env) -> KeySpec:
    where = f"{provider} entry {i}"
    unknown = set(e) - {"name", "key", "key_env", "weight", "models"}
    if unknown:
        raise KeyFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    secret = e.get("key") or (env.get(e["key_env"]) if e.get("key_env") else None)
    if not isinstance(secret, str) or not secret.strip():
        raise KeyFileError(f"{where}: no key (`key`, or `key_env` naming a set variable)")
    weight = e.get("weight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
        raise KeyFileError(f"{where}: weight must be a whole number of at least 1")
    models = e.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
        raise KeyFileError(f"{where}: models must be a list of model names")
    name = e.get("name") or f"{provider}-{i}"
    if not isinstance(name, str):
        raise KeyFileError(f"{where}: name must be text")
    return KeySpec(provider, name, secret.strip(), weight, tuple(models))


def read(env) -> dict[str, list[KeySpec]]:
    """Every provider's keys: the variable's, then the file's (a key in both: the file's)."""
    keys = from_env(env)
    path = env.get("UPSTREAM_KEYS_FILE")
    if path:
        try:
            text = open(os.path.expanduser(path), encoding="utf-8").read()
        except OSError as e:
            raise KeyFileError(f"UPSTREAM_KEYS_FILE {path}: {e.strerror}") from None
        for provider, specs in from_file(text, env).items():
            secrets = {s.secret for s in specs}
            keys[provider] = [k for k in keys[provider] if k.secret not in secrets] + specs
    for provider, specs in keys.items():
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise KeyFileError(f"{provider}: two keys share a name")
    return keys


def file_stamp(env) -> tuple | None:
    """What tells a changed keys file (mtime, size, inode), or None without one."""
    path = env.get("UPSTREAM_KEYS_FILE")
    if not path:
        return None
    try:
        st = os.stat(os.path.expanduser(path))
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
