"""Makes a release's database fixture: run by hand, once per release, with that release's code.

    git worktree add /tmp/rel 4035676
    .venv/bin/python tests/releases/make.py /tmp/rel 4035676
    .venv/bin/python tests/releases/make.py /tmp/rel 4035676-7f3cf9a /tmp/rel-next

With a second checkout, the database is then upgraded by that release's own `init-db`, as an
operator who installed each release in turn has it (PostgreSQL only: on SQLite 7f3cf9a's upgrade
of 4035676 failed and changed nothing).

It runs the release's own CLI (`python -m admin`) in its checkout to create the tables, the seeded
plans and users, a customer per plan with a key (one revoked), then writes usage records through
the release's own models (and, in a release with billing, a subscription billed on the 15th), on
SQLite and on a throwaway PostgreSQL. It writes
`tests/releases/<name>.sqlite.sql` and `<name>.postgresql.sql` (text dumps, small and diffable) and
`<name>.json` (the customers' passwords and keys, which exist only in these test databases).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))  # run as a script: the tests' helpers

DISPLAY_LEN = 11  # the prefix both releases show

CUSTOMERS = [  # email, plan, key names (the second of Startup's revoked)
    ("alice@shop.example", "Startup", ["prod", "old"]),
    ("bob@lab.example", "Growth", ["ci"]),
    ("carol@free.example", "Explorer", ["laptop"]),
    ("dave@corp.example", "Enterprise", ["batch"]),
]
PASSWORD = "release-fixture-pass-1"

# Records as the release's writer made them: provider, endpoint, model, tokens in, out, cost.
RECORDS = [
    ("openai", "chat", "gpt-4o-mini", 1200, 300, "0.000360"),
    ("anthropic", "messages", "claude-haiku-4-5", 2000, 500, "0.004500"),
    ("gemini", "generateContent", "gemini-2.5-flash", 800, 200, "0.000740"),
]

WRITE_RECORDS = """
import json, sys, datetime as dt
from decimal import Decimal
from models import bind, UsageRecord, User, ApiKey
bind(sys.argv[1])
records = json.loads(sys.argv[2])
now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
fields = {f.name for f in UsageRecord._meta.sorted_fields}
written = []
for i, (email, provider, endpoint, model, tin, tout, cost) in enumerate(records):
    user = User.get(User.email == email)
    key = ApiKey.select().where(ApiKey.user == user).order_by(ApiKey.id).first()
    row = dict(created_at=now - dt.timedelta(minutes=10 + i), request_id=f"fixture-{i}",
               user=user, api_key=key, provider=provider, endpoint=endpoint, model=model,
               status=200, latency_ms=900, ttfb_ms=300, input_tokens=tin, output_tokens=tout,
               total_tokens=tin + tout)
    if "cost_usd" in fields:
        row["cost_usd"] = Decimal(cost)
    else:
        row["cost_nanousd"] = int(Decimal(cost).scaleb(9))
    written.append(UsageRecord.create(**row).__data__)
try:  # a release whose writer sums each record by the hour and day as it writes it
    from models import rollup
except ImportError:
    rollup = None
if rollup is not None:
    rollup.add(rollup.summed(written))
try:  # a release with billing: Startup's customer pays by a subscription billed on the 15th
    from models import Plan, Subscription
except ImportError:
    Subscription = None
if Subscription is not None:
    Subscription.create(user=User.get(User.email == "alice@shop.example"),
                        stripe_customer="cus_fixture", stripe_subscription="sub_fixture",
                        status="active", plan=Plan.get(Plan.name == "Startup"),
                        current_period_end=dt.datetime(2027, 1, 15, 9, 30))
"""


def run_release(checkout: Path, url: str, *args: str, input: str | None = None) -> str:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(checkout),
           "DATA_DIR": tempfile.mkdtemp(prefix="gw-rel-"), "ADMIN_PASSWORD": PASSWORD}
    out = subprocess.run([sys.executable, *args], cwd=checkout, env=env, input=input,
                         capture_output=True, text=True, check=True)
    return out.stdout


def populate(checkout: Path, url: str) -> dict:
    """The release's own commands fill the database at `url`; returns what the tests need."""
    admin = ("-m", "admin")
    run_release(checkout, url, *admin, "init-db")
    made = {"password": PASSWORD, "customers": []}
    records = []
    for email, plan, names in CUSTOMERS:
        run_release(checkout, url, *admin, "create-user", email, "--plan", plan,
                    "--password-stdin", input=PASSWORD + "\n")
        keys = [run_release(checkout, url, *admin, "create-key", email, "--name", n).strip()
                for n in names]
        if len(keys) > 1:
            run_release(checkout, url, *admin, "revoke-key", keys[1][:DISPLAY_LEN])
        made["customers"].append({"email": email, "plan": plan, "key": keys[0],
                                  "revoked": keys[1:]})
        records += [(email, *r) for r in RECORDS]
    run_release(checkout, url, "-c", WRITE_RECORDS, url, json.dumps(records))
    made["records"] = len(records)
    return made


def sqlite_fixture(checkout: Path, out: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gateway.db"
        made = populate(checkout, f"sqlite:///{path}")
        con = sqlite3.connect(path)
        out.write_text("\n".join(con.iterdump()) + "\n")
        con.close()
    return made


def pg_fixture(checkout: Path, out: Path, then: Path | None = None) -> dict:
    from tests.conftest import pg_bin, pg_cluster

    with pg_cluster() as cluster:
        made = populate(checkout, cluster.url)
        if then is not None:
            run_release(then, cluster.url, "-m", "admin", "init-db")
        dump = subprocess.run([pg_bin("pg_dump"), "--no-owner", "--no-privileges",
                               cluster.url], capture_output=True, text=True, check=True)
        out.write_text(dump.stdout)
    return made


def main() -> None:
    checkout, name = Path(sys.argv[1]).resolve(), sys.argv[2]
    then = Path(sys.argv[3]).resolve() if len(sys.argv) > 3 else None
    made = {} if then else {"sqlite": sqlite_fixture(checkout, HERE / f"{name}.sqlite.sql")}
    made["postgresql"] = pg_fixture(checkout, HERE / f"{name}.postgresql.sql", then)
    (HERE / f"{name}.json").write_text(json.dumps(made, indent=1) + "\n")


if __name__ == "__main__":
    main()
