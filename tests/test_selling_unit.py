"""Selling's arithmetic, apart: sell prices from a markup or the operator's own, charges and
counted tokens, reservations in counted tokens and in credit, the margin guard's worst case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from addons.call import Customer, PlanInfo
from addons.services.limiter import Credit, Limiter
from addons.services.pricebook import PriceBook
from models.catalog import read_prices
from models.selling import charge_of, counted_of, divide, marked_up, nanos_per_mtok, sell
from tests.conftest import Clock

MODEL = {"model": "m", "provider": "p", "display_name": "", "max_output_tokens": 1000,
         "input_per_mtok": Decimal("0.15"), "output_per_mtok": Decimal("0.6"),
         "cache_read_per_mtok": Decimal("0.075"), "cache_write_per_mtok": Decimal(0),
         "cache_write_1h_per_mtok": None,
         "long_context": '{"above": 1000, "input": 0.3, "output": 1.2}',
         "tiers": '{"priority": {"input": 0.25, "output": 1.0}}'}
REC = {"input_tokens": 1000, "output_tokens": 100, "cache_read_tokens": 0,
       "cache_write_tokens": 0, "total_tokens": 1100}


def info(markup_bp=2500, reference=None, plan_id=1, monthly=None, uid=1, spend=False):
    return Customer(uid, "c@example.com", 1, "gw-x",
                    PlanInfo("P", 1000, monthly, frozenset(), plan_id, markup_bp, reference),
                    spend_credit=spend)


def book(own=None) -> PriceBook:
    b = PriceBook()
    b.models = {"m": read_prices(dict(MODEL))}
    b.tools = {("p", "web_search", ""): Decimal("0.01")}
    b.own = own or {}
    return b


def test_money_is_rounded_half_to_even_in_integers():
    assert [divide(n, 10) for n in (14, 15, 25, 26)] == [1, 2, 2, 3]
    assert nanos_per_mtok("0.075") == 75_000_000 and nanos_per_mtok(Decimal("1e-10")) == 0
    assert marked_up(150_000_000, 2500) == 187_500_000 and marked_up(3, 5000) == 4  # 4.5
    assert charge_of(1_500_000) == 2 and charge_of(2_500_000) == 2  # to even
    assert counted_of(1, 10**9) == 1 and counted_of(2 * 10**9, 10**9) == 2  # rounded up


def test_a_markup_an_operators_price_and_the_ratio_of_dearer_prices():
    m = read_prices(dict(MODEL))
    assert sell(m, m, 2500, {})["input"] == 187_500_000
    own = {"input": 1_000_000_000}  # $1 a million input tokens
    sold = sell(m, m, 2500, own)
    assert (sold["input"], sold["output"]) == (1_000_000_000, 750_000_000)
    # A long prompt's input is twice the model's in the catalog: twice the operator's price.
    assert sell(m["_long"][1], m, 2500, own)["input"] == 2_000_000_000
    assert sell(m["_tiers"]["priority"], m, 0, {})["output"] == 1_000_000_000
    assert sell(m, m, 0, {})["cache_write_1h"] is None


def test_a_sale_is_charged_and_counted_by_the_plans_terms():
    b = book()
    # 1000 x $0.1875 + 100 x $0.75 a million: $0.0002625.
    assert b.sale(info().plan, "p", "m", REC) == (262_500, 1100)
    # Weighted at $1 a million counted tokens: 262.5 counted, rounded up.
    assert b.sale(info(reference=10**9).plan, "p", "m", REC) == (262_500, 263)
    # A search at $0.01 sells at $0.0125 on top.
    assert b.sale(info().plan, "p", "m", {**REC, "tools": {"web_search": 1}})[0] == 12_762_500
    # A prompt past the long-context threshold: every token at its long price.
    long = {**REC, "input_tokens": 2000, "total_tokens": 2100}
    assert b.sale(info(markup_bp=0).plan, "p", "m", long)[0] == 2000 * 300 + 100 * 1200
    # An unknown model: no price, counted raw.
    assert b.sale(info(reference=10**9).plan, "p", "x", REC) == (0, 1100)
    # The operator's price for this plan only.
    b = book({1: {"m": {"output": 2_000_000_000}}})
    assert b.sale(info().plan, "p", "m", REC)[0] == 187_500 + 200_000
    assert b.sale(info(plan_id=2).plan, "p", "m", REC)[0] == 262_500


def test_a_weighted_reservation_holds_counted_tokens_and_lowers_the_cap_by_weight():
    lim, c = Limiter(Clock()), info(monthly=1000)
    # 100 counted for the input, 10 output tokens count 6 (0.6 each): at most 1,500 tokens.
    g = lim.reserve(c, 100, output=5000, weight=0.6)
    assert g.ok and (g.output, g.reserved) == (1500, 1000)
    assert not lim.reserve(c, 1, output=10, least=1, weight=0.6).ok
    lim.settle(c, 1000, 400)
    assert lim.reserve(c, 0, output=10_000, weight=0.6).output == 1000  # 600 left


def test_credit_pays_what_the_allowance_cannot_and_is_never_overdrawn():
    lim, c = Limiter(Clock()), info(monthly=100, spend=True)
    lim.credits({1: 1_000_000})  # $0.001
    credit = Credit(fixed=150_000, per_output=750.0)  # 1,000 input tokens; $0.75 a million out
    # The allowance can answer this one in full: it does.
    g = lim.reserve(c, 10, output=50, credit=credit)
    assert g.ok and g.credit == 0 and g.reserved == 60
    # Not this one: credit pays, the cap lowered to what the balance holds.
    g = lim.reserve(c, 10, output=5000, credit=credit)
    assert g.ok and g.reserved == 0 and g.output == 1133 and g.credit == 150_000 + 849_750
    assert lim.balance(1) == 250
    # Credit cannot pay another: what the allowance has left answers it, the cap lowered.
    g = lim.reserve(c, 10, output=5000, least=1, credit=credit)
    assert g.ok and g.credit == 0 and (g.output, g.reserved) == (30, 40)
    lim.settle(c, 0, 0, credit_held=999_750, credit_used=500_000)
    assert lim.balance(1) == 500_000
    lim.settle(c, 100, 100)
    refused = lim.reserve(c, 10, output=5000, least=1000, credit=credit)
    assert not refused.ok and refused.refused == "credit"


def test_the_guard_finds_the_dearest_a_plan_could_cost():
    from admin.margins import full_allowance_cost
    from models import Plan

    m = read_prices(dict(MODEL))
    raw = Plan(id=1, name="Raw", monthly_tokens=1_000_000, markup_bp=2500,
               allowance_mode="raw", allowed_models="")
    assert full_allowance_cost(raw, [m], {}) == 1_200_000_000  # a million long outputs
    weighted = Plan(id=2, name="W", monthly_tokens=1_000_000, markup_bp=2500,
                    allowance_mode="weighted", reference_nanousd=5 * 10**9, allowed_models="")
    assert full_allowance_cost(weighted, [m], {}) == 4_000_000_000  # $5 sold, $4 cost
    # An operator's price below cost: the guard sees what that token could cost.
    assert full_allowance_cost(weighted, [m], {2: {"m": {"output": 60_000_000}}}) \
        == 50_000_000_000
    unlimited = Plan(id=3, name="U", monthly_tokens=None, allowance_mode="raw")
    assert full_allowance_cost(unlimited, [m], {}) is None


@pytest.mark.parametrize("typed,bp", [("25", 2500), ("12.5%", 1250), ("-10", -1000),
                                      ("0", 0), ("10000", 1_000_000)])
def test_a_markup_as_typed(typed, bp):
    from admin.values import percent

    assert percent(typed) == bp


@pytest.mark.parametrize("typed", ["-100", "abc", "1.234", "NaN", "10000.01"])
def test_a_markup_refused(typed):
    from admin.values import Invalid, percent

    with pytest.raises(Invalid):
        percent(typed)
