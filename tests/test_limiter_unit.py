"""The limiter with a controllable clock: exact rolling windows, reservations, months."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from addons.members.limits import duration
from addons.services.limiter import WINDOW, Limiter, month_end
from tests.conftest import T0, Clock, plan_customer


def test_exactly_n_then_refused_with_real_retry_after():
    clock = Clock()
    lim, c = Limiter(clock), plan_customer(rpm=3)
    for dt_ in (0, 10, 20):
        clock.t = T0 + dt_
        assert lim.admit_request(c).ok
    clock.t = T0 + 25
    d = lim.admit_request(c)
    assert not d.ok and d.retry_after == 35  # the first admission leaves the window at T0+60
    clock.t = T0 + 59.99
    assert not lim.admit_request(c).ok
    clock.t = T0 + 60
    assert lim.admit_request(c).ok
    clock.t = T0 + 60.5
    d = lim.admit_request(c)
    assert not d.ok and d.retry_after == 9.5  # next to leave: the one at T0+10


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.lists(st.floats(0, 300, allow_nan=False), min_size=1, max_size=80))
def test_no_rolling_window_admits_more_than_n_and_none_refused_needlessly(rpm, arrivals):
    clock = Clock()
    lim, c = Limiter(clock), plan_customer(rpm=rpm)
    admitted = []
    for a in sorted(arrivals):
        clock.t = T0 + a
        in_window = [x for x in admitted if x > clock.t - WINDOW]
        d = lim.admit_request(c)
        assert d.ok == (len(in_window) < rpm)  # admitted exactly when there is room
        if d.ok:
            admitted.append(clock.t)
        else:
            # Retry-After is exactly when the window next has room.
            assert abs(d.retry_after - (sorted(in_window)[-rpm] + WINDOW - clock.t)) < 1e-6
    for x in admitted:
        assert sum(1 for y in admitted if x <= y < x + WINDOW) <= rpm


def test_customers_are_independent():
    lim = Limiter(Clock())
    a, b = plan_customer(rpm=1, uid=1), plan_customer(rpm=1, uid=2)
    assert lim.admit_request(a).ok and lim.admit_request(b).ok
    assert not lim.admit_request(a).ok


def test_reserve_then_settle():
    clock = Clock()
    lim, c = Limiter(clock), plan_customer(monthly=1000)
    assert lim.reserve(c, 600).ok
    d = lim.reserve(c, 500)  # 600 reserved + 500 > 1000
    assert not d.ok and d.retry_after == month_end(T0) - T0
    assert lim.reserve(c, 400).ok  # exactly fills the quota
    lim.settle(c, 600, 100)  # used less than reserved: room comes back
    assert lim.standing(c).remaining_tokens == 1000 - 100 - 400
    assert lim.reserve(c, 500).ok and not lim.reserve(c, 1).ok


def test_unlimited_plan_is_never_refused():
    lim, c = Limiter(Clock()), plan_customer(monthly=None)
    assert all(lim.reserve(c, 10**9).ok for _ in range(5))
    assert lim.standing(c).remaining_tokens is None


def test_new_month_starts_from_zero():
    clock = Clock()
    lim, c = Limiter(clock), plan_customer(monthly=1000)
    lim.settle(c, 0, 1000)
    assert not lim.reserve(c, 1).ok
    clock.t = month_end(T0) + 1
    assert lim.reserve(c, 1000).ok
    assert lim.standing(c, own=1000).remaining_tokens == 1000  # nothing used this month


def test_restore_rebuilds_usage_and_window():
    clock = Clock()
    lim, c = Limiter(clock), plan_customer(rpm=2, monthly=1000)
    lim.restore({1: 900}, {1: [T0 - 50, T0 - 10]})
    d = lim.admit_request(c)
    assert not d.ok and d.retry_after == 10
    assert not lim.reserve(c, 101).ok and lim.reserve(c, 100).ok


def test_standing():
    clock = Clock()
    lim, c = Limiter(clock), plan_customer(rpm=3, monthly=1000)
    lim.admit_request(c)
    clock.t += 15
    lim.reserve(c, 200)
    s = lim.standing(c)
    assert (s.rpm, s.remaining_requests, s.reset_requests) == (3, 2, 45)
    assert (s.token_limit, s.remaining_tokens) == (1000, 800)


def test_duration_format():
    assert [duration(x) for x in (0.25, 1, 12.2, 60, 361, 97_380)] == [
        "250ms", "1s", "13s", "1m0s", "6m1s", "27h3m0s"]


def test_calls_in_flight_are_capped_and_freed_once_each():
    import dataclasses

    lim = Limiter(Clock())
    c = plan_customer(rpm=4)
    capped = dataclasses.replace(c, plan=dataclasses.replace(c.plan, max_in_flight=2))
    assert not lim.admit(c).in_flight  # a plan without the cap counts nothing
    first, second, third = (lim.admit(capped) for _ in range(3))
    assert first.in_flight and second.in_flight
    assert (third.ok, third.refused, third.retry_after) == (False, "in_flight", 1.0)
    counting = lim.admit(capped, counting=True)  # token counting has no cap of calls at once
    assert counting.ok and not counting.in_flight
    lim.finish(capped)
    assert lim.admit(capped).ok  # the 4th call of the minute
    lim.finish(capped)
    lim.finish(capped)
    over_rate = lim.admit(capped)  # the 5th call of the minute: refused, counts nothing
    assert over_rate.refused == "rate" and not over_rate.in_flight
    lim.finish(capped)
    lim.finish(capped)  # more ends than admissions never go below none
    assert lim._in_flight == {}
