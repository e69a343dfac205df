"""Shared fixtures: fake providers on loopback and the real gateway process in front of them."""

from __future__ import annotations

import datetime as dt
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import stripe
from aiosmtpd.controller import Controller
from google import genai
from google.genai import types as genai_types

from tests import fakes

ROOT = Path(__file__).resolve().parent.parent

UPSTREAM_SECRETS = {
    "anthropic": "sk-ant-UPSTREAM-secret-0001",
    "openai": "sk-proj-UPSTREAM-secret-0002",
    "gemini": "AIzaUPSTREAM-secret-0003",
}
ADMIN_PASSWORD = "admin-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    """A running gateway process and the database it uses."""

    def __init__(self, data_dir: Path, env: dict, port: int, host: str = "127.0.0.1",
                 wrap: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port = port
        self.host, self.wrap = host, wrap  # wrap: a command it runs under (ip netns exec)
        self.url = f"http://{host}:{port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / "gateway.log"

    def admin(self, *args: str, input: str | None = None, check: bool = True):
        return subprocess.run([sys.executable, "-m", "admin", *args], cwd=ROOT, env=self.env,
                              input=input, capture_output=True, text=True, check=check)

    def start(self, web: bool = False, *extra: str) -> Gateway:
        self.log = open(self.log_path, "ab")
        args = ["--host", self.host, "--port", str(self.port)] + (["--web"] if web else []) \
            + list(extra)
        self.proc = subprocess.Popen([*self.wrap, sys.executable, "-O", "-m", "addons", *args],
                                     cwd=ROOT, env=self.env, stdout=self.log,  # as start.sh
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("gateway did not answer /healthz within 30 s")

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        self.log.close()
        return code

    # --- database helpers (the test process binds to the same database) ---

    def create_key(self, email: str, name: str = "test") -> str:
        from models import ApiKey, User

        secret, _ = ApiKey.issue(User.get(User.email == email), name)
        return secret

    def records(self, key: str, count: int = 1, timeout: float = 10.0):
        """The usage records of `key`, waiting until at least `count` were written."""
        from models import ApiKey, UsageRecord
        from models.security import hash_key

        api_key = ApiKey.get(ApiKey.secret_hash == hash_key(key))
        deadline = time.monotonic() + timeout
        while True:
            rows = list(UsageRecord.select().where(UsageRecord.api_key == api_key)
                        .order_by(UsageRecord.id))
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


def wait_until(check, timeout: float = 15.0, what: str = ""):
    """`check()`'s first true value, polled for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or check}")


# --- a browser's part, over plain HTTP ---


def client(gw, address: str = "127.0.0.1") -> httpx.Client:
    """A browser at `address` (any of loopback's 127/8: another client, as far as the
    gateway can tell)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=gw.url, transport=transport, follow_redirects=False)


def csrf(c: httpx.Client, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).text)[1]


def sign_in(c: httpx.Client, email: str, password: str, next_: str = "") -> httpx.Response:
    return c.post("/login" + (f"?next={next_}" if next_ else ""),
                  data={"email": email, "password": password, "csrf_token": csrf(c)})



def gateway_env(data_dir: Path, fake_servers: dict, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "UPSTREAM_"))}
    env.update(
        DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir / 'gateway.db'}",
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        ANTHROPIC_API_KEY=UPSTREAM_SECRETS["anthropic"],
        OPENAI_API_KEY=UPSTREAM_SECRETS["openai"],
        GEMINI_API_KEY=UPSTREAM_SECRETS["gemini"],
        UPSTREAM_ANTHROPIC_URL=fake_servers["anthropic"].url,
        UPSTREAM_OPENAI_URL=fake_servers["openai"].url,
        UPSTREAM_GEMINI_URL=fake_servers["gemini"].url,
        USAGE_FLUSH_INTERVAL="0.2",
        KEY_CACHE_TTL="2",
        SHUTDOWN_GRACE="5",
        PYTHONUNBUFFERED="1",
        # The fakes' knobs travel as request headers: forwarded like those an API needs.
        FORWARD_HEADERS="x-fake-usage,x-fake-mode,x-fake-searches",
        # Every test client is 127.0.0.1, and many send invalid keys on purpose; the throttle
        # of invalid keys per address has a test of its own.
        INVALID_KEYS_PER_MINUTE="100000",
        # Likewise many are refused on purpose, 20 in 10 s and more: an address refused that
        # often waits before each new connection (a flood's); tests/test_fair_share_e2e.py.
        FLOOD_DELAY="0",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def fake_servers():
    servers = fakes.start_all(UPSTREAM_SECRETS)
    yield servers
    for s in servers.values():
        s.shutdown()


@pytest.fixture(autouse=True)
def _fresh_fakes(request):
    """Each test sees only its own upstream requests."""
    if "fake_servers" in request.fixturenames or "gateway" in request.fixturenames:
        servers = request.getfixturevalue("fake_servers")
        for s in servers.values():
            with s.state.lock:
                s.state.requests.clear()
                s.state.reported.clear()
                s.state.fail_counts.clear()
                s.state.keys.clear()
                s.state.key_counts.clear()
                s.state.limited_until.clear()
            s.state.hold.clear()
            s.state.holding.clear()
    yield


@pytest.fixture
def make_gateway(tmp_path, fake_servers):
    """Gateways of a test's own (initialised, bound, not yet started), for tests that stop,
    restart or seed them. The test process is bound back to the session database after."""
    from models import bind, db

    previous = db.obj
    made: list[Gateway] = []

    def make(host: str = "127.0.0.1", wrap: tuple[str, ...] = (), **env: str) -> Gateway:
        data_dir = tmp_path / f"gw{len(made)}"
        data_dir.mkdir()
        gw = Gateway(data_dir, gateway_env(data_dir, fake_servers, **env), free_port(), host,
                     wrap)
        gw.admin("init-db")
        bind(gw.env["DATABASE_URL"])
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.stop()
    db.initialize(previous)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory, fake_servers):
    data_dir = tmp_path_factory.mktemp("gateway-data")
    gw = Gateway(data_dir, gateway_env(data_dir, fake_servers), free_port())
    gw.admin("init-db")
    from models import bind

    bind(gw.env["DATABASE_URL"])
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture
def cheap_hashing(monkeypatch):
    """Real argon2, with test-sized costs: the default costs make each hash ~0.1 s."""
    from argon2 import PasswordHasher

    import models.security

    monkeypatch.setattr(models.security, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- Real servers on loopback: PostgreSQL and Redis (Debian's, which test.sh installs) -------


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL is not installed: ./test.sh installs Debian's postgresql")
    return found[-1]


class Cluster:
    def __init__(self, url: str, ctl: list[str]) -> None:
        self.url, self.ctl = url, ctl

    def restart(self) -> None:
        """Stop at once (every connection dropped, as a crash would) and start again."""
        subprocess.run([*self.ctl, "-m", "immediate", "stop"], check=True, capture_output=True)
        subprocess.run([*self.ctl, "start"], check=True, capture_output=True)

    def new_database(self) -> str:
        """A database of its own for a test, in this cluster."""
        name = f"gw_{secrets.token_hex(6)}"
        host, port = self.url.split("@")[1].split("/")[0].split(":")
        subprocess.run([*self.as_user, pg_bin("createdb"), "-h", host, "-p", port, "-U",
                        "postgres", name], check=True, capture_output=True)
        return self.url.rsplit("/", 1)[0] + "/" + name


@contextmanager
def pg_cluster(host: str = "127.0.0.1", trust: str = ""):
    """A throwaway cluster on a free port of `host` (`trust`: a network whose clients it also
    trusts); run as `postgres` when we are root (PostgreSQL refuses to run as root)."""
    data = tempfile.mkdtemp(prefix="gw-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(data, pg.pw_uid, pg.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_user, pg_bin("initdb"), "-D", f"{data}/db", "-A", "trust", "-U",
                    "postgres", "--no-sync"], check=True, capture_output=True)
    if trust:
        with open(f"{data}/db/pg_hba.conf", "a") as hba:
            hba.write(f"host all all {trust} trust\n")
    ctl = [*as_user, pg_bin("pg_ctl"), "-D", f"{data}/db", "-l", f"{data}/log", "-w",
           "-o", f"-p {port} -k {data} -c listen_addresses={host} -c fsync=off "
                 f"-c max_connections=200"]
    subprocess.run([*ctl, "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_user, pg_bin("createdb"), "-h", host, "-p", str(port), "-U",
                        "postgres", "gateway"], check=True, capture_output=True)
        cluster = Cluster(f"postgresql://postgres@{host}:{port}/gateway", ctl)
        cluster.as_user = as_user
        yield cluster
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    with pg_cluster() as cluster:
        yield cluster


class RedisServer:
    """Debian's redis-server on a free loopback port, no persistence."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, free_port()
        self.url = f"redis://{host}:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="gw-redis-")
        self.unix_url = f"unix://{self.dir}/redis.sock"  # the same server, on its socket
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: ./test.sh installs Debian's redis-server")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", self.host, "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no",
             "--unixsocket", f"{self.dir}/redis.sock", "--unixsocketperm", "700"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)


# --- Fleets: several gateways sharing a database and limits ---------------------------------


@pytest.fixture
def fleet(make_gateway, postgres, redis_server):
    """Start `n` gateways sharing a fresh database and the Redis (flushed)."""

    def start(n: int = 2, **env: str) -> list[Gateway]:
        redis_server.client().flushall()
        url = postgres.new_database()
        gateways = [make_gateway(DATABASE_URL=url, REDIS_URL=redis_server.url, **env)
                    for _ in range(n)]
        for gw in gateways:
            gw.start()
        return gateways

    return start


MSG = [{"role": "user", "content": "Hello there"}]


def new_customer(gw: Gateway, plan: str) -> str:
    """A customer on `plan`, made by the operator's CLI; returns the address."""
    email = f"{plan.lower().replace(' ', '-')}-{time.monotonic_ns()}@example.com"
    gw.admin("create-user", email, "--plan", plan)
    return email


def raw_plan(gw: Gateway, name: str) -> str:
    """A twin of seeded plan `name` whose allowance counts raw tokens (the seeded ones weigh
    each model's tokens by price), for tests of the quota's own arithmetic; made once."""
    from models import Plan

    twin = f"{name}-raw"
    if not Plan.select().where(Plan.name == twin).exists():
        seeded = Plan.get(Plan.name == name)
        gw.admin("create-plan", twin, "--rpm", str(seeded.requests_per_minute),
                 "--monthly-tokens", str(seeded.monthly_tokens), "--allowance", "raw",
                 "--models", ",".join(seeded.model_list), "--private")
    return twin


def customer(gw: Gateway, plan: str) -> str:
    """A new customer's API key."""
    return gw.create_key(new_customer(gw, plan))


# --- The official SDKs, pointed at a gateway ----------------------------------------------


def oai(gateway, key, **kw):
    return openai.OpenAI(base_url=f"{gateway.url}/v1/openai", api_key=key, max_retries=0, **kw)


def ant(gateway, key, **kw):
    return anthropic.Anthropic(base_url=f"{gateway.url}/v1/anthropic", api_key=key,
                               max_retries=0, **kw)


_genai_clients = []  # google-genai clients close themselves when collected, even mid-call


def gem(gateway, key, headers=None) -> genai.Client:
    client = genai.Client(api_key=key, http_options=genai_types.HttpOptions(
        base_url=f"{gateway.url}/v1/gemini", headers=headers or {}))
    _genai_clients.append(client)
    return client


def chat(gw: Gateway, key: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{gw.url}/v1/openai/chat/completions",
                      headers={"authorization": f"Bearer {key}", **headers},
                      json={"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 20},
                      timeout=30)


# --- Stripe: localstripe, patched (tests/stripe_fake.py) --------------------------------

SECRET = "whsec_test_gateway"  # the webhooks' signing secret


@pytest.fixture(scope="session")
def stripe_fake():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.stripe_fake", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/js.stripe.com/v3/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait()


@pytest.fixture
def billed(make_gateway, stripe_fake, smtp):
    """A gateway billing through the fake Stripe, its webhooks delivered, its mail caught."""
    inbox, smtp_url = smtp
    gw = make_gateway(STRIPE_SECRET_KEY="sk_test_gateway", STRIPE_PUBLISHABLE_KEY="pk_test_gw",
                      STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_API_BASE=stripe_fake,
                      STRIPE_JS_URL=f"{stripe_fake}/js.stripe.com/v3/", SMTP_URL=smtp_url,
                      BILLING_GRACE_DAYS="0", MAIL_FROM="billing@llm-gateway.io")
    gw.start()
    httpx.post(f"{stripe_fake}/_config/webhooks/gw{gw.port}",
               data={"url": f"{gw.url}/billing/webhook", "secret": SECRET}).raise_for_status()
    gw.stripe = stripe.StripeClient("sk_test_gateway", base_addresses={"api": stripe_fake})
    gw.inbox = inbox
    return gw



# --- mail ---------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 10, subject: str = "") -> str:
        """The text of the first mail to `to` (whose subject has `subject`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in list(self.messages):
                if m["To"] == to and subject in (m["Subject"] or ""):
                    return m.get_payload(decode=True).decode()
            time.sleep(0.05)
        raise AssertionError(f"no mail to {to} about {subject!r}")

    def subjects(self, to: str) -> list[str]:
        return [m["Subject"] for m in list(self.messages) if m["To"] == to]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()



# --- The limiter's stand-ins (unit tests) --------------------------------------------------

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC).timestamp()


class Clock:
    """A clock the test moves."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def plan_customer(rpm=3, monthly=None, uid=1):
    """A customer as the limiter sees one: a plan's rate and monthly allowance."""
    from addons.call import Customer, PlanInfo

    return Customer(uid, f"u{uid}@example.com", uid, "gw-x",
                    PlanInfo("P", rpm, monthly, frozenset()))
