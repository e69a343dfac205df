"""Settings from the environment, read once.

Every process (gateway, admin CLI, tests) builds one `Config` with `load()`; nothing else reads
os.environ. Names are the interface other issues and the tests rely on; see the README table.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parent


def _not_negative(value: str | None, default, name: str, parse, what: str):
    """`value` parsed (int or float), at least 0 and finite; `default` when unset."""
    if value is None or value.strip() == "":
        return default
    try:
        n = parse(value)
    except ValueError:
        n = -1
    if not 0 <= n < float("inf"):
        raise ValueError(f"{name} must be {what}, not {value!r}")
    return n


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database_url: str
    host: str
    port: int
    # The environment as read: what a part reads for itself (each provider its upstream and
    # credential, addons/providers), so this module knows no proxy. Never shown.
    env: Mapping[str, str] = field(repr=False)
    admin_password: str | None
    key_cache_ttl: float
    usage_flush_interval: float
    body_size_limit: str
    body_workers: int
    default_max_output_tokens: int
    token_count_rpm: int
    redis_url: str | None
    redis_outage: str
    redis_timeout: float
    metrics_address: str | None
    invalid_keys_per_minute: int
    forward_headers: frozenset[str]
    signup_enabled: bool
    signup_plan: str
    smtp_url: str | None
    mail_from: str
    public_url: str | None
    trusted_proxies: frozenset[str]
    max_connections_per_address: int
    flood_delay: float
    secure_cookies: bool
    web_host: str
    web_port: int
    web_password: str | None
    web_max_flows: int
    upstream_insecure: bool
    connect_timeout: float
    upstream_retries: int
    read_timeout: float
    shutdown_grace: float
    access_log: str
    unpriced_models: str = "refuse"  # a model missing from the price catalog: refuse or serve
    operator_2fa: bool = False  # operators must sign in with a second factor (TOTP)
    # Billing through Stripe: off while no secret key is set (plans are assigned by hand).
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str = "https://api.stripe.com"
    stripe_js_url: str = "https://js.stripe.com/v3/"
    billing_grace_days: float = 7.0
    # The margin guard: a plan whose full allowance could cost more than its price less this
    # share of it (basis points) is listed for the operator.
    min_margin_bp: int = 2000

    @property
    def billing(self) -> bool:
        return bool(self.stripe_secret_key)

    @property
    def mitm_confdir(self) -> Path:
        return self.data_dir / "mitmproxy"

    def secret_key(self) -> str:
        """SECRET_KEY, or one generated on first use and kept in the data folder."""
        if value := os.environ.get("SECRET_KEY"):
            return value
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip()


def load(env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    return Config(**_storage(env), **_proxy(env), **_limits(env), **_accounts(env),
                  **_mitmweb(env), **_billing(env), env=MappingProxyType(env))


def _list(text: str | None, lower: bool = False) -> frozenset[str]:
    return frozenset((i.strip().lower() if lower else i.strip())
                     for i in (text or "").split(",") if i.strip())


def _storage(env) -> dict:
    data_dir = Path(env.get("DATA_DIR") or ROOT / "data").resolve()
    return dict(
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'gateway.db'}",
        usage_flush_interval=float(env.get("USAGE_FLUSH_INTERVAL") or 0.5),
        access_log=env.get("ACCESS_LOG") or "stdout",
    )


def _proxy(env) -> dict:
    return dict(
        host=env.get("GATEWAY_HOST") or "127.0.0.1",
        port=int(env.get("GATEWAY_PORT") or 8080),
        body_size_limit=env.get("BODY_SIZE_LIMIT") or "32m",
        # Half the cores, 1 to 4: the proxy's loop and the other gateway processes need the rest.
        body_workers=max(1, int(env.get("BODY_WORKERS") or
                                max(1, min(4, (os.cpu_count() or 1) // 2)))),
        forward_headers=_list(env.get("FORWARD_HEADERS"), lower=True),
        trusted_proxies=_list(env.get("TRUSTED_PROXIES")),
        max_connections_per_address=_not_negative(
            env.get("MAX_CONNECTIONS_PER_ADDRESS"), 256, "MAX_CONNECTIONS_PER_ADDRESS", int,
            "a whole number of at least 0 (0: no cap)"),
        flood_delay=_not_negative(env.get("FLOOD_DELAY"), 0.5, "FLOOD_DELAY", float,
                                  "a number of seconds of at least 0"),
        upstream_insecure=_flag(env.get("UPSTREAM_INSECURE"), False),
        connect_timeout=float(env.get("UPSTREAM_CONNECT_TIMEOUT") or 10),
        upstream_retries=int(env.get("UPSTREAM_RETRIES") or 2),
        read_timeout=float(env.get("UPSTREAM_READ_TIMEOUT") or 600),
        shutdown_grace=float(env.get("SHUTDOWN_GRACE") or 20),
        metrics_address=env.get("METRICS_ADDRESS") or None,
    )


def _limits(env) -> dict:
    return dict(
        key_cache_ttl=float(env.get("KEY_CACHE_TTL") or 4.0),
        default_max_output_tokens=int(env.get("DEFAULT_MAX_OUTPUT_TOKENS") or 4096),
        token_count_rpm=int(env.get("TOKEN_COUNT_RPM") or 100),
        redis_url=env.get("REDIS_URL") or None,
        redis_outage=(env.get("REDIS_OUTAGE") or "quota-closed").strip().lower(),
        redis_timeout=float(env.get("REDIS_TIMEOUT") or 0.5),
        invalid_keys_per_minute=int(env.get("INVALID_KEYS_PER_MINUTE") or 30),
        unpriced_models=(env.get("UNPRICED_MODELS") or "refuse").strip().lower(),
    )


def _accounts(env) -> dict:
    return dict(
        admin_password=env.get("ADMIN_PASSWORD") or None,
        # Sign-ups must confirm their address by mail: open only where mail can be sent,
        # unless the operator says otherwise.
        signup_enabled=_flag(env.get("SIGNUP_ENABLED"), bool(env.get("SMTP_URL"))),
        signup_plan=env.get("SIGNUP_PLAN") or "Explorer",
        smtp_url=env.get("SMTP_URL") or None,
        mail_from=env.get("MAIL_FROM") or "llm-gateway <noreply@localhost>",
        public_url=(env.get("PUBLIC_URL") or "").rstrip("/") or None,
        secure_cookies=_flag(env.get("SECURE_COOKIES"), False),
        operator_2fa=_flag(env.get("OPERATOR_2FA"), False),
    )


def _mitmweb(env) -> dict:
    return dict(
        web_host=env.get("MITMWEB_HOST") or "127.0.0.1",
        web_port=int(env.get("MITMWEB_PORT") or 8081),
        web_password=env.get("MITMWEB_PASSWORD") or None,
        web_max_flows=int(env.get("MITMWEB_MAX_FLOWS") or 1000),
    )


def _billing(env) -> dict:
    return dict(
        stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
        stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY") or None,
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe_api_base=(env.get("STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/"),
        stripe_js_url=env.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/",
        billing_grace_days=float(env.get("BILLING_GRACE_DAYS") or 7),
        min_margin_bp=_percent_bp(env.get("MIN_MARGIN") or "20"),
    )


def _percent_bp(text: str) -> int:
    """MIN_MARGIN: a percentage ("20", "20%", "12.5") in basis points."""
    try:
        value = int(Decimal(text.strip().rstrip("%")) * 100)
    except (ArithmeticError, ValueError):
        raise ValueError(f"MIN_MARGIN must be a percentage, not {text!r}") from None
    if not 0 <= value <= 10_000:
        raise ValueError(f"MIN_MARGIN must be from 0 to 100 percent, not {text!r}")
    return value


@functools.cache
def get() -> Config:
    """The process-wide settings, read once."""
    return load()
