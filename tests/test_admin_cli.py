"""The operator's command line, in process through Flask's CLI runner (a few runs of the real
entry points at the end): the same checks as the web UI, through the same service layer, and
each change announced to a gateway serving the app."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

import config
from addons.services.keycache import KeyCache
from models import ApiKey, Plan, User, bind, db
from models.security import MIN_PASSWORD, hash_key, verify_password
from models.seed import seed

from .conftest import ROOT

pytestmark = pytest.mark.usefixtures("cheap_hashing")  # in conftest


@pytest.fixture
def app(tmp_path):
    from admin import create_app

    previous = db.obj
    cfg = config.load({"DATA_DIR": str(tmp_path), "ADMIN_PASSWORD": "admin-password-1"})
    bind(cfg.database_url)
    seed(cfg.admin_password)
    keys = KeyCache(ttl=60, lookup=lambda digest: f"customer of {digest}")
    app = create_app(cfg, on_change=keys.clear, test_config={"TESTING": True})
    app.keys = keys
    yield app
    db.initialize(previous)


def cached(keys) -> None:
    """A customer in the key cache, as the in-process gateway holds one."""
    asyncio.run(keys.resolve_digest("k"))
    assert keys.cached("k") == (True, "customer of k")


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args, input=None, ok=True):
        result = runner.invoke(args=list(args), input=input)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return invoke


def test_create_user_with_a_password_from_stdin(run):
    out = run("create-user", "New@Example.com", "--plan", "startup", "--password-stdin",
              input="a long enough password\n")
    assert out.output.strip() == "created new@example.com"  # stored lower-case
    user = User.get(User.email == "new@example.com")
    assert user.plan.name == "Startup" and user.role == "user"
    assert verify_password(user.password_hash, "a long enough password")


def test_the_cli_and_the_ui_refuse_the_same_passwords(run, app):
    short = "x" * (MIN_PASSWORD - 1)
    out = run("create-user", "a@example.com", "--plan", "Explorer", "--password-stdin",
              input=short + "\n", ok=False)
    assert f"at least {MIN_PASSWORD} characters" in out.output
    assert not User.select().where(User.email == "a@example.com").exists()
    out = run("set-password", "demo@startup.ai", input=short + "\n", ok=False)
    assert f"at least {MIN_PASSWORD} characters" in out.output
    # The UI's sign-up says the same, from the same rule.
    client = app.test_client()
    app.config.update(SIGNUP_ENABLED=True, WTF_CSRF_ENABLED=False)
    page = client.post("/signup", data={"email": "b@example.com", "password": short})
    assert page.status_code == 400
    assert f"at least {MIN_PASSWORD} characters" in page.get_data(as_text=True)


def test_refusals_are_one_line_and_exit_non_zero(run):
    assert "no plan named Gold (plans: Explorer, Startup, Growth, Enterprise)" in run(
        "create-user", "c@example.com", "--plan", "Gold", ok=False).output
    run("create-user", "c@example.com", "--plan", "Growth")
    assert "c@example.com already has an account" in run(
        "create-user", "c@example.com", "--plan", "Growth", ok=False).output
    assert "enter a valid email address" in run(
        "create-user", "not-an-email", "--plan", "Growth", ok=False).output
    assert "no user with email nobody@example.com" in run(
        "set-plan", "nobody@example.com", "Growth", ok=False).output
    assert "no key with prefix gw-nothing" in run("revoke-key", "gw-nothing", ok=False).output


def test_keys_are_issued_and_revoked_and_the_gateway_is_told(run, app):
    secret = run("create-key", "demo@startup.ai", "--name", "laptop").output.strip()
    key = ApiKey.get(ApiKey.secret_hash == hash_key(secret))
    assert secret.startswith("gw-") and key.name == "laptop" and key.user.email == "demo@startup.ai"
    cached(app.keys)  # what the in-process gateway had cached
    out = run("revoke-key", key.prefix)
    assert out.output.strip() == f"revoked {key.prefix} of demo@startup.ai"
    assert ApiKey.get_by_id(key.id).revoked and app.keys.cached("k") == (False, None)


@pytest.mark.parametrize("command", [("set-plan", "demo@startup.ai", "Growth"),
                                     ("set-active", "demo@startup.ai", "--suspended"),
                                     ("edit-plan", "Startup", "--rpm", "61")])
def test_every_change_that_limits_keys_is_announced(run, app, command):
    cached(app.keys)
    run(*command)
    assert app.keys.cached("k") == (False, None)


def test_suspending_ends_sessions_and_reactivating_restores(run):
    before = User.get(User.email == "demo@startup.ai").session_epoch
    run("set-active", "demo@startup.ai", "--suspended")
    user = User.get(User.email == "demo@startup.ai")
    assert not user.active and user.session_epoch > before
    run("set-active", "demo@startup.ai", "--active")
    assert User.get(User.email == "demo@startup.ai").active


def test_plans_are_created_and_edited_with_the_same_checks_as_the_ui(run):
    run("create-plan", "Team", "--rpm", "120", "--monthly-tokens", "unlimited",
        "--price-cents", "4900", "--models", "gpt-4o-mini, claude-haiku-4-5")
    team = Plan.get(Plan.name == "Team")
    assert (team.requests_per_minute, team.monthly_tokens, team.price_cents) == (120, None, 4900)
    assert team.model_list == ["claude-haiku-4-5", "gpt-4o-mini"]
    run("edit-plan", "team", "--monthly-tokens", "5000", "--models", "")
    team = Plan.get(Plan.name == "Team")
    assert (team.requests_per_minute, team.monthly_tokens, team.model_list) == (120, 5000, [])
    assert "a plan named team exists" in run(
        "create-plan", "team", "--rpm", "1", "--monthly-tokens", "1", ok=False).output
    assert "needs --rpm and --monthly-tokens" in run(
        "create-plan", "Solo", "--rpm", "5", ok=False).output
    assert "0 is not in the range x>=1" in run("edit-plan", "Team", "--rpm", "0", ok=False).output
    assert "neither a number nor 'unlimited'" in run(
        "edit-plan", "Team", "--monthly-tokens", "lots", ok=False).output


def test_list_users_and_usage(run):
    lines = run("list-users").output.splitlines()
    assert "demo@startup.ai\tuser\tStartup\tactive\t0 keys" in lines
    usage = json.loads(run("usage", "demo@startup.ai").output)
    assert usage["requests"] == 0 and usage["cost_usd"] == "0.000000000"
    assert "--month must be YYYY-MM" in run("usage", "demo@startup.ai", "--month", "May",
                                            ok=False).output


def test_init_db_is_idempotent(run):
    assert run("init-db").output.strip() == "database ready"
    assert User.select().count() == 4


@pytest.mark.parametrize("entry", [["llm-gateway-admin"], [sys.executable, "-m", "admin"]])
def test_the_real_entry_points(entry, tmp_path):
    """Installed console scripts and `python -m`, from any working directory."""
    if entry[0] == "llm-gateway-admin":
        entry = [str(ROOT / ".venv" / "bin" / "llm-gateway-admin")]
    env = {"DATA_DIR": str(tmp_path), "ADMIN_PASSWORD": "admin-password-1", "PATH": "/usr/bin"}
    out = subprocess.run([*entry, "init-db"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "created admin@llm-gateway.io" in out.stdout, out.stderr
    out = subprocess.run([*entry, "set-plan", "nobody@example.com", "Growth"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.strip() == \
        "Error: no user with email nobody@example.com"


def test_the_gateways_entry_point_is_installed(tmp_path):
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "llm-gateway"), "--help"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--port" in out.stdout
