"""First-run set-up: tables, the four plans, the demo users and the price catalog."""

import json

from .base import write_transaction
from .billing import BILLING_TABLES
from .catalog import load_catalog
from .members import MEMBER_TABLES, open_account
from .migrate import upgrade
from .rollup import UsageRollup
from .security import hash_password, new_password
from .selling import DEFAULT_MARKUP_BP, DEFAULT_REFERENCE, SELLING_TABLES
from .tables import ALL_TABLES, Plan, User
from .upstreams import UPSTREAM_TABLES

# The free plan's models: each provider's inexpensive ones, so free tokens are no money tap.
FREE_MODELS = ["claude-haiku-4-5", "claude-3-5-haiku", "gpt-5-nano", "gpt-5-mini",
               "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o-mini", "gemini-2.5-flash",
               "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-2.0-flash-lite",
               "text-embedding-3-small", "gemini-embedding-001"]

# Sold at a 25% markup on the catalog's cost; the allowances with a price count weighted
# tokens, at $5 a million counted tokens (models/selling.py), so each costs the business about
# the same whatever models a customer picks.
WEIGHTED = dict(markup_bp=DEFAULT_MARKUP_BP, allowance_mode="weighted",
                reference_nanousd=DEFAULT_REFERENCE)
# Calls in flight at once: enough for a team's agents and batch jobs on each plan, so that the
# cap only bites a runaway (a thousand parallel streams), not the plan's rate.
IN_FLIGHT = {"Explorer": 10, "Startup": 25, "Growth": 100, "Enterprise": 250}
PLANS = [
    dict(name="Explorer", requests_per_minute=20, monthly_tokens=100_000, price_cents=0,
         description="Free: try every provider behind one endpoint, on their inexpensive "
                     "models.", allowed_models=json.dumps(sorted(FREE_MODELS)), **WEIGHTED),
    dict(name="Startup", requests_per_minute=60, monthly_tokens=1_000_000, price_cents=2900,
         description="For a product's first customers.", **WEIGHTED),
    dict(name="Growth", requests_per_minute=200, monthly_tokens=10_000_000, price_cents=9900,
         description="For products in production.", **WEIGHTED),
    dict(name="Enterprise", requests_per_minute=1000, monthly_tokens=None, price_cents=None,
         description="Unlimited tokens at a custom price."),
]

DEMO_USERS = [
    ("admin@llm-gateway.io", "admin", "Enterprise"),
    ("demo@startup.ai", "user", "Startup"),
    ("dev@enterprise.com", "user", "Growth"),
    ("test@free.com", "user", "Explorer"),
]


def create_tables() -> list[int]:
    """The schema made or brought up to date; returns the migrations applied now."""
    return upgrade(ALL_TABLES + BILLING_TABLES + SELLING_TABLES + UPSTREAM_TABLES
                   + [UsageRollup] + MEMBER_TABLES)


def seed(admin_password: str | None = None) -> dict[str, str]:
    """Create what is missing. Returns {email: password} for users created now, to print once."""
    create_tables()
    created: dict[str, str] = {}
    with write_transaction():
        for fields in PLANS:
            Plan.get_or_create(name=fields["name"],
                               defaults={**fields, "max_in_flight": IN_FLIGHT[fields["name"]]})
        for email, role, plan in DEMO_USERS:
            if User.get_or_none(User.email == email):
                continue
            password = (admin_password if role == "admin" else None) or new_password()
            user = User.create(email=email, role=role, plan=Plan.get(Plan.name == plan),
                               password_hash=hash_password(password))
            open_account(user)
            created[email] = password
    load_catalog()
    return created
