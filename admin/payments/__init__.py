"""Billing through Stripe: the paid plans as Stripe products and monthly prices, customers'
subscriptions made and changed, and Stripe's word applied to each customer's plan.

A plan changes only on Stripe's word: a webhook event (billing.py), whose subscription and
invoice are read back from Stripe before anything is applied, so events may come late, out of
order or twice and the outcome is the same. Billing is off without STRIPE_SECRET_KEY.

In pieces: `service` (the Stripe calls and applying Stripe's word), `states` (the
subscription's transitions, as a table), `clock` (what falls due with time), `records` (the
gateway's billing rows and their claims), `money` (prorations, prices) and `reports`.
"""

from .clock import BillingClock, start_clock
from .money import monthly_cents, prorated_cents, prorated_stretch
from .records import BillingError, billing_row, claimed, free_plan, set_terms, subscription_of
from .reports import collected_cents, dashboard_url, mrr_cents, summary
from .service import Payments
from .states import PLAN_CHANGES, STATES, TRANSITIONS

__all__ = ["PLAN_CHANGES", "STATES", "TRANSITIONS", "BillingClock", "BillingError", "Payments",
           "billing_row", "claimed", "collected_cents", "dashboard_url", "free_plan",
           "monthly_cents", "mrr_cents", "prorated_cents", "prorated_stretch", "set_terms",
           "start_clock", "subscription_of", "summary"]
