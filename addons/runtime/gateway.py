"""Builds the addon chain and the mitmproxy master that runs it.

The default runtime is a lean master (lean.py): only the core addons a reverse proxy needs, and
our chain called directly (about twice the throughput of stock mitmdump, see the README's
benchmark). `--web` runs the same chain under mitmweb, with the full set of addons, for watching
traffic.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from dataclasses import dataclass

from mitmproxy import options
from mitmproxy.utils import human

import config as config_module
from addons.members import errors
from addons.members.accesslog import AccessLog, make_writer
from addons.members.admin_app import AdminApp
from addons.members.auth import Auth, FailedKeys
from addons.members.connections import Connections
from addons.members.limits import Limits
from addons.members.metering import Metering
from addons.members.metrics import Metrics
from addons.members.owners import Owners, Ownership
from addons.members.router import Router
from addons.members.send import Send
from addons.members.timeouts import Timeouts
from addons.members.translate import Translate
from addons.members.upstreams import Upstreams
from addons.providers import COUNTING, configured, report, upstreams
from addons.runtime import web
from addons.runtime.chain import Chain
from addons.runtime.lean import lean_master
from addons.services import prometheus
from addons.services.inflight import InFlight
from addons.services.keycache import KeyCache
from addons.services.limiter import Limiter
from addons.services.pool import Pool
from addons.services.pricebook import PriceBook
from addons.services.redis_limiter import RedisLimiter
from addons.services.refresh import EVERY, Refresh
from addons.services.upstream_state import UpstreamState
from addons.services.usage_writer import UsageWriter
from models import bind, keyring, ledger, selling, utcnow
from models.changes import Subscriber
from models.seed import create_tables

log = logging.getLogger("gateway")


@dataclass
class Services:
    """The shared pieces the addons are built with; the admin app reaches the same ones."""

    keys: KeyCache
    limiter: Limiter | RedisLimiter
    prices: PriceBook
    writer: UsageWriter
    owners: Owners
    inflight: InFlight
    refresh: Refresh
    changes: Subscriber | None = None  # change notices from other processes (with Redis)
    upstreams: UpstreamState | None = None  # the provider keys' state, told and learnt


def restore_limits(limiter: Limiter) -> None:
    """Rebuild the counters from the database: this month's tokens, the last minute's calls,
    the credit ledger."""
    now = utcnow()
    recent = {uid: [ts for ts, _ in calls]
              for uid, calls in ledger.recent_requests(now, COUNTING).items()}
    key_recent = {kid: [ts for ts, _ in calls]
                  for kid, calls in ledger.recent_by_key(now, COUNTING).items()}
    limiter.restore(ledger.tokens_this_month(now), recent, selling.credits_added(),
                    selling.credit_spent(), ledger.key_spend_this_month(now), key_recent)


class Lifecycle:
    """Starts the services when the proxy runs and stops them, flushing usage, when it ends.
    Added last, so every other addon's `done` has settled its calls first."""

    PHASE = "close"

    def __init__(self, services: Services) -> None:
        self.services = services

    def running(self) -> None:
        self.services.writer.start()
        self.services.limiter.start()
        self.services.refresh.start()
        if self.services.changes is not None:
            self.services.changes.start()
        if self.services.upstreams is not None:
            self.services.upstreams.start()

    def done(self) -> None:
        if self.services.changes is not None:
            self.services.changes.stop()
        if self.services.upstreams is not None:
            self.services.upstreams.stop()
        self.services.refresh.stop()
        self.services.limiter.stop()  # a shared limiter's settlements still queued
        self.services.writer.stop()
        log.info("usage writer stopped after writing %d records", self.services.writer.written)


def build_chain(cfg: config_module.Config) -> tuple[Chain, Services]:
    """The gateway's chain and the services its members share (the database bound)."""
    prices = PriceBook()
    prices.reload()  # the limits need each model's output maximum from the first request
    writer = UsageWriter(prices, interval=cfg.usage_flush_interval,
                         dead_letter_file=cfg.data_dir / "usage-dead-letters.jsonl")
    keys = KeyCache(ttl=cfg.key_cache_ttl)
    if cfg.redis_url:  # shared by every gateway process; rebuilt from the records when empty
        limiter = RedisLimiter(cfg.redis_url, cfg.token_count_rpm, cfg.redis_outage,
                               cfg.redis_timeout)
    else:
        limiter = Limiter(counting_rpm=cfg.token_count_rpm)
        restore_limits(limiter)
    refresh = Refresh(keys, prices, limiter, every=min(EVERY, cfg.key_cache_ttl))
    changes = Subscriber(cfg.redis_url, refresh.changed) if cfg.redis_url else None
    services = Services(keys=keys, limiter=limiter, prices=prices, writer=writer,
                        owners=Owners(writer), inflight=InFlight(), refresh=refresh,
                        changes=changes)
    providers = configured(upstreams(cfg.env), cfg.forward_headers)
    from admin import create_app  # late: the admin app imports models, bound by now
    from admin.alerts import UsageAlerts
    from admin.credit_watch import CreditWatch
    from admin.payments import start_clock

    pool = Pool(keyring.read(cfg.env))
    state = services.upstreams = UpstreamState(
        pool, cfg.env, writer, redis_url=cfg.redis_url)
    admin_app = create_app(cfg, on_change=refresh.changed,
                           upstreams=lambda: report(cfg.env, pool.keys), live=state)
    state.mailer = admin_app.extensions["mailer"]
    writer.listen(UsageAlerts(admin_app.extensions["mailer"]).written)
    writer.listen(CreditWatch(admin_app).written)
    if cfg.billing:
        start_clock(admin_app)
    inflight = services.inflight
    unserved = pool.unserved
    for name in sorted(unserved):
        log.warning("%s has no key (%s): its routes answer 503 and its models are not listed",
                    name, providers[name].credential_env)
    members = [
        Connections(cfg.max_connections_per_address, cfg.flood_delay, cfg.trusted_proxies),
        Router(providers, inflight, prices, human.parse_size(cfg.body_size_limit),
               services.limiter, cfg.body_workers, unserved),
        Auth(services.keys, FailedKeys(cfg.invalid_keys_per_minute), cfg.trusted_proxies),
        Ownership(services.owners),
        Metering(services.writer, inflight, services.owners, prices),
        Limits(services.limiter, cfg.default_max_output_tokens, prices, cfg.unpriced_models,
               writer.refused),
        # A key is put on only for calls that really go; one no key can take goes nowhere.
        Upstreams(pool, cfg.upstream_retries, cfg.connect_timeout, state.record,
                  writer.refused),
        Send(inflight),
        Translate(),  # first of the answer phase: the others see what the client gets
        errors.ErrorResponses(),
        Timeouts(inflight, cfg.connect_timeout, cfg.read_timeout),
        AccessLog(make_writer(cfg.access_log)),
        Metrics(inflight, writer),
        AdminApp(admin_app),  # serves only what the router left alone
        Lifecycle(services),  # last: its `done` flushes what the others settled
    ]
    return Chain(*members), services


DELIVERY_GRACE = 0.5  # seconds


async def drain(m, inflight: InFlight, grace: float) -> None:
    """Graceful stop: refuse new calls, give open ones `grace` seconds to finish, then stop
    (the addons' `done` settles what is still open and the writer flushes everything)."""
    inflight.draining = True
    deadline = asyncio.get_running_loop().time() + grace
    while inflight and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    if inflight:
        log.warning("stopping with %d calls still open after %.0fs", len(inflight), grace)
    else:
        # A call leaves the registry when its answer is settled, which mitmproxy does just
        # before it writes the answer out: give the last answers time to leave.
        await asyncio.sleep(DELIVERY_GRACE)
    m.shutdown()


async def serve(cfg: config_module.Config, with_web: bool = False, worker: int = 0) -> None:
    """Run the gateway until it is stopped (`worker`: its index among --workers)."""
    bind(cfg.database_url)
    create_tables()
    chain, services = build_chain(cfg)
    prometheus.serve(cfg.metrics_address, worker)
    await run_chain(cfg, chain, services, with_web)


async def run_chain(cfg: config_module.Config, chain: Chain, services: Services,
                    with_web: bool = False) -> None:
    """Run `chain` as the gateway runs it: the proxy on the configured port, signals drain."""
    cfg.mitm_confdir.mkdir(parents=True, exist_ok=True)
    opts = options.Options(listen_host=cfg.host, listen_port=cfg.port,
                           mode=["reverse:http://127.0.0.1:1"], confdir=str(cfg.mitm_confdir))
    m = web.web_master(opts, cfg) if with_web else lean_master(opts, chain)
    m.options.update(
        connection_strategy="lazy",  # the reverse target is a placeholder: never connect to it
        # The admin app needs the Host the browser used; routed calls get the provider's Host
        # from the router (setting request.host rewrites the header).
        keep_host_header=True,
        # In bytes: mitmproxy's own check (mitmweb's, and the lean runtime's over the limit)
        # parses this option each time, and a suffix ("32m") costs it a raised ValueError.
        body_size_limit=str(human.parse_size(cfg.body_size_limit)),
        ssl_insecure=cfg.upstream_insecure,
        termlog_verbosity="warn",
    )
    if with_web:
        m.addons.add(chain)
        web.arrange(m, cfg)
    # Startup's objects (Flask, Jinja, peewee, mitmproxy) live as long as the process: keep the
    # collector from scanning them again and again under load (a full collection took ~60 ms).
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task] = []

    def on_signal() -> None:
        if stopping:  # a second signal: stop now
            m.shutdown()
        else:
            stopping.append(loop.create_task(drain(m, services.inflight, cfg.shutdown_grace)))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    log.warning("llm-gateway listening on http://%s:%d%s", cfg.host, cfg.port,
                f" (mitmweb on http://{cfg.web_host}:{cfg.web_port})" if with_web else "")
    await m.run()
