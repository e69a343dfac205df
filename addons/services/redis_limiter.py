"""Plan limits shared by every gateway process, in Redis (`REDIS_URL`): the `Limiter` interface.

Admission is one round trip: a Lua script checks the customer's 60-second window and the
month's quota and, if both allow, records the request and holds the reservation, atomically,
on Redis's clock (the machines' clocks do not matter; the month is the UTC month of Redis's
time and rolls over by itself, each month's ledger under its own key). Settlements are queued
and sent in batches, one script call per batch, off the request's path. When Redis holds no
state (a new or flushed server) it is rebuilt from the usage records first.

Redis that does not answer within REDIS_TIMEOUT is an outage, handled by REDIS_OUTAGE: `closed`
refuses every call (503 with Retry-After), `open` admits them unchecked, `quota-closed` (the
default) refuses the plans with a token quota and admits the unlimited ones. The client
reconnects by itself once Redis is back; settlements wait and are sent then. A reply lost on
the way (a timeout, a dropped connection) may belong to a command Redis ran: a settlement batch
is sent again under its id and applied once, and an admission's reservation is released.

Keys (prefix `llm-gateway:`): `w:<user>` and `c:<user>` sorted sets of the last minute's
requests and token counts (a reserving request's entry names what it holds),
`q:<YYYY-MM>:<user>` a hash of `used` and `reserved` tokens and `cheld`, the credit calls in
flight hold (nano-dollars: held per month, so that a crashed process's holds end with it, as
its reservations do), `cr:<user>` a hash of prepaid credit in nano-dollars (`added`, as the
database's ledger sums it; `spent`),
`kw:<key>` the last minute's requests of a key with a rate of its own, `kq:<YYYY-MM>:<key>` a
hash of what a key with a spend cap was charged (`spent`) and holds (`held`), nano-dollars,
`f:<user>` a sorted set of the calls in flight of a plan with a cap on them (by request id,
scored by their start; one a crashed process never ended stops counting after IN_FLIGHT_STALE),
`s:<batch>` the settlement batches applied in the last ten minutes, `ready` once the state is
rebuilt. One Redis (with replicas or Sentinel), not Redis Cluster: the scripts compute the
month's key themselves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import time

import redis
import redis.asyncio as aioredis

from addons.call import Customer
from addons.providers import COUNTING
from addons.services import prometheus as metrics
from addons.services import redis_wire as resp
from addons.services.limiter import Admission, Credit, Standing
from models import ledger, selling
from models.changes import PREFIX
from models.month import month_key

log = logging.getLogger(__name__)

POLICIES = ("quota-closed", "closed", "open")
OUTAGE_RETRY_AFTER = 2.0
FLUSH_EVERY = 0.05  # seconds between settlement batches
MAX_PENDING = 1_000_000  # settlements kept while Redis is away

# Civil dates from days since 1970-01-01 and back (H. Hinnant's algorithms).
CIVIL = """
local function civil(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
                          - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m
end
local function first_day(y, m)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5)
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end
"""

# Redis's clock: now (ms), the UTC month it is in, and when that month ends (ms).
_CLOCK = CIVIL + """
local function clock()
  local t = redis.call('TIME')
  local sec = tonumber(t[1])
  local now = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
  local y, m = civil(math.floor(sec / 86400))
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return now, string.format('%04d-%02d', y, m), first_day(ny, nm) * 86400000
end
"""

# ARGV: prefix, user, rpm, counting, reserve, limit (-1: none), fixed, output, answers, least,
# request id, weight (counted tokens an output token), credit (1: may pay from credit), credit's
# fixed nano-dollars, credit's nano-dollars an output token; the key's id, its own rate (-1:
# none), its monthly spend cap (-1: none), the call's fixed charge and charge an output token
# (nano-dollars); the plan's cap on calls in flight (-1: none), and how long (ms) an entry
# of one counts. Returns {-1} when the state must be rebuilt first, else {ok, refused (0, 1
# rate, 2 quota, 3 credit, 4 the key's cap, 5 the key's rate, 6 calls in flight), output, held,
# available (-1: unlimited; the key's cap's left when 4), retry_after_ms, remaining requests,
# reset_requests_ms, month_ends_in_ms, period, credit held, key's cap held, counted in
# flight (1)}. Floats as limiter.py's `fit` and `held` compute them.
ADMIT = _CLOCK + """
-- limiter.py's `fit`: each answer's output cap within `available` after `fixed`, at `per` an
-- output token (-1: not even `fixed` fits)
local function fit_in(available, fixed, answers, per)
  if per <= 0 then
    if available >= fixed then return 9007199254740992 end
    return -1
  end
  return math.floor((available - fixed) / (answers * per))
end
local P = ARGV[1]
if redis.call('EXISTS', P .. 'ready') == 0 then return {-1} end
local now, period, month_end = clock()
local uid, rpm, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[6])
local wkey = P .. (ARGV[4] == '1' and 'c:' or 'w:') .. uid
local qkey = P .. 'q:' .. period .. ':' .. uid
local ckey = P .. 'cr:' .. uid
redis.call('ZREMRANGEBYSCORE', wkey, '-inf', now - 60000)
local n = redis.call('ZCARD', wkey)
local fcap, fkey = tonumber(ARGV[21]), P .. 'f:' .. uid
if fcap >= 0 then
  redis.call('ZREMRANGEBYSCORE', fkey, '-inf', now - tonumber(ARGV[22]))
  if redis.call('ZCARD', fkey) >= fcap then
    return {0, 6, 0, 0, -1, 1000, rpm - n, 0, 0, period, 0, 0}
  end
end
local available = -1
if limit >= 0 then
  local v = redis.call('HMGET', qkey, 'used', 'reserved')
  available = limit - (tonumber(v[1]) or 0) - (tonumber(v[2]) or 0)
end
local output, held, cheld, kheld = 0, 0, 0, 0
local kid, krpm, kcap = ARGV[16], tonumber(ARGV[17]), tonumber(ARGV[18])
local kqkey = P .. 'kq:' .. period .. ':' .. kid
if ARGV[5] == '1' then
  local fixed, answers, least = tonumber(ARGV[7]), tonumber(ARGV[9]), tonumber(ARGV[10])
  local weight = tonumber(ARGV[12])
  output = tonumber(ARGV[8])
  if kcap >= 0 then
    local k = redis.call('HMGET', kqkey, 'spent', 'held')
    local left = kcap - (tonumber(k[1]) or 0) - (tonumber(k[2]) or 0)
    local kfixed, kper = tonumber(ARGV[19]), tonumber(ARGV[20])
    local kfit = fit_in(left, kfixed, answers, kper)
    if left <= 0 or kfit < least then
      return {0, 4, 0, 0, math.max(0, left), month_end - now, rpm - n, 0, month_end - now,
              period, 0, 0}
    end
    if kfit < output then output = kfit end
  end
  local paid = false
  if limit >= 0 then
    local fit = fit_in(available, fixed, answers, weight)
    if ARGV[13] == '1' and fit < math.max(output, least) then
      local c = redis.call('HMGET', ckey, 'added', 'spent')
      local balance = (tonumber(c[1]) or 0) - (tonumber(c[2]) or 0)
                      - (tonumber(redis.call('HGET', qkey, 'cheld')) or 0)
      local cfixed, per = tonumber(ARGV[14]), tonumber(ARGV[15])
      local cfit = fit_in(balance, cfixed, answers, per)
      local cout = math.min(output, cfit)
      if cout >= least and balance > 0 then
        output, paid = cout, true
        cheld = cfixed + math.ceil(cout * answers * per)
      elseif fit < least then
        return {0, 3, 0, 0, math.max(0, available), month_end - now, rpm - n, 0,
                month_end - now, period, 0, 0}
      end
    end
    if not paid then
      if fit < output then output = fit end
      if output < least then
        return {0, 2, 0, 0, math.max(0, available), month_end - now, rpm - n, 0,
                month_end - now, period, 0, 0}
      end
    end
  end
  if not paid then held = fixed + math.ceil(output * answers * weight) end
  if kcap >= 0 then
    kheld = tonumber(ARGV[19]) + math.ceil(output * answers * tonumber(ARGV[20]))
  end
end
if n >= rpm then
  local slot = redis.call('ZRANGE', wkey, n - rpm, n - rpm, 'WITHSCORES')
  local wait = tonumber(slot[2]) + 60000 - now
  return {0, 1, 0, 0, available, wait, 0, wait, month_end - now, period, 0, 0}
end
if krpm > 0 and ARGV[4] ~= '1' then
  local kwkey = P .. 'kw:' .. kid
  redis.call('ZREMRANGEBYSCORE', kwkey, '-inf', now - 60000)
  local kn = redis.call('ZCARD', kwkey)
  if kn >= krpm then
    local slot = redis.call('ZRANGE', kwkey, kn - krpm, kn - krpm, 'WITHSCORES')
    local wait = tonumber(slot[2]) + 60000 - now
    return {0, 5, 0, 0, available, wait, rpm - n, 0, month_end - now, period, 0, 0}
  end
  redis.call('ZADD', kwkey, now, ARGV[11])
  redis.call('PEXPIRE', kwkey, 61000)
end
-- the entry names what it holds, so that a lost reply's reservation can be found (RELEASE)
local mark = ARGV[11]
if held > 0 or cheld > 0 or kheld > 0 then
  mark = mark .. '|' .. string.format('%.0f', held) .. '|' .. period .. '|'
         .. string.format('%.0f', cheld)
  if kheld > 0 then mark = mark .. '|' .. kid .. '|' .. string.format('%.0f', kheld) end
end
redis.call('ZADD', wkey, now, mark)
redis.call('PEXPIRE', wkey, 61000)
if kheld > 0 then
  redis.call('HINCRBY', kqkey, 'held', string.format('%.0f', kheld))
  redis.call('PEXPIREAT', kqkey, month_end + 40 * 86400000)
end
if held > 0 then
  redis.call('HINCRBY', qkey, 'reserved', string.format('%.0f', held))
  redis.call('PEXPIREAT', qkey, month_end + 40 * 86400000)
end
if cheld > 0 then
  redis.call('HINCRBY', qkey, 'cheld', string.format('%.0f', cheld))
  redis.call('PEXPIREAT', qkey, month_end + 40 * 86400000)
end
local counted = 0
if fcap >= 0 then
  redis.call('ZADD', fkey, now, ARGV[11])
  redis.call('PEXPIRE', fkey, tonumber(ARGV[22]))
  counted = 1
end
local first = redis.call('ZRANGE', wkey, 0, 0, 'WITHSCORES')
return {1, 0, output, held, available, 0, rpm - n - 1, tonumber(first[2]) + 60000 - now,
        month_end - now, period, cheld, kheld, counted}
"""

# ARGV: prefix, then per call that ended and was counted in flight: user, request id.
FINISH = """
local P = ARGV[1]
for i = 2, #ARGV, 2 do redis.call('ZREM', P .. 'f:' .. ARGV[i], ARGV[i + 1]) end
return 1
"""

# ARGV: prefix, the batch's id, then per settlement (SETTLEMENT values): user, the period its
# reservation is in, reserved, used, credit held, credit spent, the key, the key's cap held,
# the key's charge. The tokens used count in the month they are settled in. A batch whose
# reply was lost is sent again under its id, and applied once.
SETTLE = _CLOCK + """
local P = ARGV[1]
if not redis.call('SET', P .. 's:' .. ARGV[2], 1, 'NX', 'PX', 600000) then return 0 end
local now, period, month_end = clock()
for i = 3, #ARGV, 9 do
  local uid, held_in = ARGV[i], ARGV[i + 1]
  local reserved, used = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  if reserved > 0 and held_in ~= '' then
    local k = P .. 'q:' .. held_in .. ':' .. uid
    if redis.call('HINCRBY', k, 'reserved', -reserved) < 0 then
      redis.call('HSET', k, 'reserved', 0)
    end
  end
  if used > 0 then
    local k = P .. 'q:' .. period .. ':' .. uid
    redis.call('HINCRBY', k, 'used', used)
    redis.call('PEXPIREAT', k, month_end + 40 * 86400000)
  end
  local cheld, cused = tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  if cheld > 0 and held_in ~= '' then
    local k = P .. 'q:' .. held_in .. ':' .. uid
    if redis.call('HINCRBY', k, 'cheld', -cheld) < 0 then redis.call('HSET', k, 'cheld', 0) end
  end
  if cused > 0 then redis.call('HINCRBY', P .. 'cr:' .. uid, 'spent', cused) end
  local kid, kheld, kspent = ARGV[i + 6], tonumber(ARGV[i + 7]), tonumber(ARGV[i + 8])
  if kheld > 0 and held_in ~= '' then
    local k = P .. 'kq:' .. held_in .. ':' .. kid
    if redis.call('HINCRBY', k, 'held', -kheld) < 0 then redis.call('HSET', k, 'held', 0) end
  end
  if kspent > 0 then
    local k = P .. 'kq:' .. period .. ':' .. kid
    redis.call('HINCRBY', k, 'spent', kspent)
    redis.call('PEXPIREAT', k, month_end + 40 * 86400000)
  end
end
return 1
"""
SETTLEMENT = 9

# ARGV: prefix, then per admission whose reply never came: user, request id. Redis may have
# run it (a reply lost to a timeout or a dropped connection), holding a reservation that nobody
# would settle: found by the request's entry in the window and released, once however often
# this runs.
RELEASE = """
local P = ARGV[1]
for i = 2, #ARGV, 2 do
  local uid, mark = ARGV[i], ARGV[i + 1] .. '|'
  local wkey = P .. 'w:' .. uid
  redis.call('ZREM', P .. 'f:' .. uid, ARGV[i + 1])
  for _, m in ipairs(redis.call('ZRANGE', wkey, 0, -1)) do
    if string.find(m, mark, 1, true) == 1 then
      -- request id|held|period|credit held[|key|key's cap held]
      local f = {}
      for part in string.gmatch(m, '[^|]+') do f[#f + 1] = part end
      local held, period = tonumber(f[2]) or 0, f[3]
      local cheld, kheld = tonumber(f[4]) or 0, tonumber(f[6]) or 0
      if period and (held > 0 or cheld > 0 or kheld > 0) then
        local k = P .. 'q:' .. period .. ':' .. uid
        if held > 0 and redis.call('HINCRBY', k, 'reserved', -held) < 0 then
          redis.call('HSET', k, 'reserved', 0)
        end
        if cheld > 0 and redis.call('HINCRBY', k, 'cheld', -cheld) < 0 then
          redis.call('HSET', k, 'cheld', 0)
        end
        local kk = P .. 'kq:' .. period .. ':' .. (f[5] or '')
        if kheld > 0 and redis.call('HINCRBY', kk, 'held', -kheld) < 0 then
          redis.call('HSET', kk, 'held', 0)
        end
        local score = redis.call('ZSCORE', wkey, m)
        redis.call('ZREM', wkey, m)
        redis.call('ZADD', wkey, score, mark .. '0|' .. period .. '|0')
      end
      break
    end
  end
end
return 1
"""

NO_CREDIT = (0, 0, "1")
NO_KEY_CAP = (-1, 0, "0")
IN_FLIGHT_STALE = 900_000  # ms an entry in flight counts, if no process ends it (a crash)
NO_IN_FLIGHT_CAP = (-1, IN_FLIGHT_STALE)
OUTAGE_MEMORY = 10.0  # seconds /healthz reports the limits unavailable after an outage
PROBE_EVERY = 5.0  # seconds between the PINGs /healthz sends, so an outage shows without calls
OUTAGES = (redis.ConnectionError, redis.TimeoutError, OSError, TimeoutError)


class RedisLimiter:
    def __init__(self, url: str, counting_rpm: int = 100, policy: str = "quota-closed",
                 timeout: float = 0.5) -> None:
        if policy not in POLICIES:
            raise ValueError(f"REDIS_OUTAGE must be one of {', '.join(POLICIES)}, not {policy!r}")
        self.url, self.policy, self.timeout = url, policy, timeout
        self.counting_rpm = counting_rpm
        self.client = aioredis.Redis.from_url(url, socket_timeout=timeout,
                                              socket_connect_timeout=timeout)
        # Admissions and settlements share one pipelined connection (redis_wire.py): redis-py spent
        # about 12 µs of CPU per settlement packing a batch's arguments.
        pipelined = resp.PipelinedRedis(url, timeout)
        self._admit = resp.Script(pipelined, ADMIT)
        self._settle = resp.Script(pipelined, SETTLE)
        self._release = resp.Script(pipelined, RELEASE)
        self._finish = resp.Script(pipelined, FINISH)
        self._finished: list = []  # calls counted in flight that ended: (user, request id)...
        self._pending: list = []  # settlements not yet in a batch
        self._unsent: list[tuple[str, list]] = []  # batches to send again, under their id
        self._queued = 0  # settlements in both
        self._lost: list = []  # admissions whose reply never came, to release
        self._standing: dict[tuple[int, bool], Standing] = {}  # the last seen, per customer
        self._rebuilding: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_at: asyncio.TimerHandle | None = None  # armed while settlements wait
        self._sending: set[asyncio.Task] = set()
        self._outage_logged = 0.0
        self.outages = 0  # admissions decided by the outage policy
        self.last_outage: float | None = None  # monotonic time of the last one
        self._probed = float("-inf")
        self._credits_sent: dict[int, int] = {}  # what `credits` last set in Redis

    # --- the Limiter interface ---

    def rpm(self, customer: Customer, counting: bool = False) -> int:
        rpm = customer.plan.requests_per_minute
        return max(rpm, self.counting_rpm) if counting else rpm

    def admit(self, customer: Customer, counting: bool = False, reserve: bool = False,
              fixed: int = 0, output: int = 0, answers: int = 1, least: int = 0,
              request_id: str = "", weight: float = 1.0, credit: Credit | None = None,
              key_charge: Credit | None = None):
        """A coroutine: Redis answers."""
        limit, key = customer.plan.monthly_tokens, customer.key
        cap = key.monthly_cap if key is not None and key_charge is not None else None
        args = [PREFIX, customer.user_id, self.rpm(customer, counting), int(counting),
                int(reserve), -1 if limit is None else limit, fixed, output, max(1, answers),
                least, request_id, repr(weight), *(NO_CREDIT if credit is None else (
                    1, credit.fixed, repr(credit.per_output))),
                customer.key_id, (key.rpm or -1) if key is not None else -1,
                *(NO_KEY_CAP if cap is None else (cap, key_charge.fixed,
                                                  repr(key_charge.per_output))),
                *(NO_IN_FLIGHT_CAP if customer.plan.max_in_flight is None or counting else (
                    customer.plan.max_in_flight, IN_FLIGHT_STALE))]
        return self._admission(customer, counting, args)

    def finish(self, customer: Customer, request_id: str = "") -> None:
        """A call counted in flight ended: taken out of the count with the next batch."""
        if len(self._finished) < MAX_PENDING * 2:
            self._finished += (customer.user_id, request_id)
            self._flush_later(FLUSH_EVERY)

    def settle(self, customer: Customer, reserved: int, used: int, period: str = "",
               credit_held: int = 0, credit_used: int = 0, key_held: int = 0,
               key_spent: int = 0) -> None:
        if reserved or used or credit_held or credit_used or key_held or key_spent:
            if self._queued < MAX_PENDING:
                self._queued += 1
                self._pending += (customer.user_id, period, reserved, used, credit_held,
                                  credit_used, customer.key_id, key_held, key_spent)
                self._flush_later(FLUSH_EVERY)
            else:
                log.error("shared limits: %d settlements waiting; dropping one", MAX_PENDING)

    def standing(self, customer: Customer, own: int = 0, counting: bool = False) -> Standing:
        """The customer's limits as this process last saw them in Redis."""
        found = self._standing.get((customer.user_id, counting))
        if found is not None:
            return found
        rpm, limit = self.rpm(customer, counting), customer.plan.monthly_tokens
        return Standing(rpm, rpm, 0.0, limit, limit, 0.0)

    def credits(self, added: dict[int, int]) -> None:
        """Each customer's credit movements summed, as the database has them now: set in
        Redis where they changed since this process last sent them (the same sums from any
        process, so sending them twice is harmless; a rebuilt Redis reads them anew)."""
        changed = {uid: n for uid, n in added.items() if self._credits_sent.get(uid) != n}
        if changed and self._loop is not None:
            task = self._loop.create_task(self._send_credits(changed))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send_credits(self, added: dict[int, int]) -> None:
        try:
            async with self.client.pipeline(transaction=False) as p:
                for uid, total in added.items():
                    p.hset(f"{PREFIX}cr:{uid}", "added", total)
                await p.execute()
            self._credits_sent.update(added)
        except Exception as e:
            log.warning("shared limits: credit balances not sent (%s); sent again soon", e)

    # --- lifecycle ---

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    def stop(self) -> None:
        """At shutdown: send what is left, waiting for Redis as a last act may."""
        if self._flush_at is not None:
            self._flush_at.cancel()
        self._batch()
        if not self._unsent and not self._lost and not self._finished:
            return
        try:
            client = redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)
            while self._unsent:
                batch_id, items = self._unsent[0]
                client.eval(SETTLE, 0, PREFIX, batch_id, *items)
                self._unsent.pop(0)
            if self._lost:
                client.eval(RELEASE, 0, PREFIX, *self._lost)
                self._lost = []
            if self._finished:
                client.eval(FINISH, 0, PREFIX, *self._finished)
                self._finished = []
        except Exception:
            log.exception("shared limits: %d settlements not sent at shutdown",
                          sum(len(b) for _, b in self._unsent) // SETTLEMENT + len(self._lost) // 2)

    # --- inside ---

    async def _admission(self, customer: Customer, counting: bool, args: list) -> Admission:
        try:
            for _ in range(3):
                r = await self._admit(*args)
                if r[0] != -1:
                    break
                await self._rebuild()
            else:
                raise redis.ConnectionError("the shared limits could not be rebuilt")
        except resp.NotSent as e:
            return self._outage(customer, e)
        except OUTAGES as e:
            if (args[4] or args[20] >= 0) and args[10] and len(self._lost) < MAX_PENDING * 2:
                self._lost += (customer.user_id, args[10])  # it may have run: release it
                self._flush_later(FLUSH_EVERY)
            return self._outage(customer, e)
        (ok, refused, output, held, available, retry_ms, left, reset_ms, month_ms, period, cheld,
         kheld) = r[:12]
        limit = customer.plan.monthly_tokens
        avail = None if limit is None else int(available)
        self._standing[(customer.user_id, counting)] = Standing(
            int(args[2]), max(0, int(left)), max(0, int(reset_ms)) / 1000, limit,
            None if limit is None else max(0, avail), max(0, int(month_ms)) / 1000)
        if ok:
            return Admission(True, None, int(output), int(held), avail,
                             period=period.decode() if held or cheld or kheld else "",
                             credit=int(cheld), key_held=int(kheld),
                             in_flight=r[12] == 1)
        if refused == 6:
            return Admission(False, "in_flight", retry_after=max(0, int(retry_ms)) / 1000)
        if refused in (1, 5):
            return Admission(False, "rate" if refused == 1 else "key_rate",
                             retry_after=max(0, int(retry_ms)) / 1000)
        if refused == 4:
            return Admission(False, "key_cap", available=int(available),
                             retry_after=max(0, int(retry_ms)) / 1000)
        return Admission(False, "credit" if refused == 3 else "quota", available=avail,
                         retry_after=max(0, int(retry_ms)) / 1000)

    @property
    def available(self) -> bool:
        """Whether the shared limits answered the admissions of the last OUTAGE_MEMORY s."""
        return self.last_outage is None or time.monotonic() - self.last_outage > OUTAGE_MEMORY

    @property
    def refuses_all(self) -> bool:
        """Whether an outage refuses every call (REDIS_OUTAGE=closed)."""
        return self.policy == "closed"

    def healthy(self) -> bool:
        """`available`, for /healthz; and a PING at most every PROBE_EVERY s, off the
        request's path, so a Redis gone (or refusing the password) shows with no traffic."""
        now = time.monotonic()
        if self._loop is not None and now - self._probed > PROBE_EVERY:
            self._probed = now
            task = self._loop.create_task(self._probe())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return self.available

    async def _probe(self) -> None:
        try:
            await self.client.ping()
        except OUTAGES as e:
            self.last_outage = time.monotonic()
            log.warning("shared limits unavailable (%s); policy %s", e, self.policy)

    def _outage(self, customer: Customer, error: Exception) -> Admission:
        self.outages += 1
        self.last_outage = time.monotonic()
        metrics.REDIS_ERRORS.inc()
        now = time.monotonic()
        if now - self._outage_logged > 10:
            self._outage_logged = now
            log.warning("shared limits unavailable (%s); policy %s", error, self.policy)
        if self.policy == "open" or (self.policy == "quota-closed"
                                     and customer.plan.monthly_tokens is None):
            return Admission(True)
        return Admission(False, "unavailable", retry_after=OUTAGE_RETRY_AFTER)

    async def _rebuild(self) -> None:
        """Empty Redis: one process rebuilds the state from the usage records, the others
        wait for it; within a process, one rebuild however many calls found it empty."""
        if self._rebuilding is None:
            self._rebuilding = asyncio.ensure_future(self._rebuild_once())
            self._rebuilding.add_done_callback(lambda _: setattr(self, "_rebuilding", None))
        await asyncio.shield(self._rebuilding)

    async def _rebuild_once(self) -> None:
        c = self.client
        if await c.set(PREFIX + "rebuilding", 1, nx=True, px=30_000):
            try:
                secs, micros = await c.time()
                now = dt.datetime.fromtimestamp(secs + micros / 1e6, dt.UTC).replace(tzinfo=None)
                used, recent, added, spent, key_spent, key_recent = await asyncio.to_thread(
                    _ledger, now)
                period = month_key(now)
                async with c.pipeline(transaction=True) as p:
                    for uid, tokens in used.items():
                        p.hset(f"{PREFIX}q:{period}:{uid}", "used", tokens)
                    for kid, nanos in key_spent.items():
                        p.hset(f"{PREFIX}kq:{period}:{kid}", "spent", nanos)
                    for kid, calls in key_recent.items():
                        p.zadd(f"{PREFIX}kw:{kid}", {rid or f"r{ts}": ts * 1000
                                                     for ts, rid in calls})
                        p.pexpire(f"{PREFIX}kw:{kid}", 61_000)
                    for uid in added.keys() | spent.keys():
                        p.hset(f"{PREFIX}cr:{uid}", mapping={
                            "added": added.get(uid, 0), "spent": spent.get(uid, 0)})
                    for uid, calls in recent.items():
                        stamps = {rid or f"r{ts}": ts * 1000 for ts, rid in calls}
                        p.zadd(f"{PREFIX}w:{uid}", stamps)
                        p.pexpire(f"{PREFIX}w:{uid}", 61_000)
                    p.set(PREFIX + "ready", 1)
                    p.delete(PREFIX + "rebuilding")
                    await p.execute()
                log.warning("shared limits rebuilt from the usage records: %d customers",
                            len(used))
            except BaseException:
                await c.delete(PREFIX + "rebuilding")
                raise
            return
        for _ in range(200):  # another process is rebuilding
            if await c.exists(PREFIX + "ready"):
                return
            await asyncio.sleep(0.05)

    def _flush_later(self, delay: float) -> None:
        """One batch per FLUSH_EVERY while settlements come, on a timer armed only then: an
        idle process is not woken."""
        if self._flush_at is None and self._loop is not None:
            self._flush_at = self._loop.call_later(delay, self._flush)

    def _batch(self) -> None:
        if self._pending:
            self._unsent.append((secrets.token_hex(8), self._pending))
            self._pending = []

    def _flush(self) -> None:
        self._flush_at = None
        self._batch()
        if self._unsent or self._lost or self._finished:
            batches, self._unsent = self._unsent, []
            lost, self._lost = self._lost, []
            finished, self._finished = self._finished, []
            task = self._loop.create_task(self._send(batches, lost, finished))
            self._sending.add(task)  # a reference until it is done
            task.add_done_callback(self._sending.discard)

    async def _send(self, batches: list[tuple[str, list]], lost: list, finished: list) -> None:
        try:
            while batches:
                batch_id, items = batches[0]
                await self._settle(PREFIX, batch_id, *items)
                batches.pop(0)
                self._queued -= len(items) // SETTLEMENT
            if lost:
                await self._release(PREFIX, *lost)
                lost = []
            if finished:  # taking a call out twice is harmless: sent again on a failure
                await self._finish(PREFIX, *finished)
                finished = []
        except Exception as e:
            self._unsent[:0] = batches  # kept, in order, for the next try
            self._lost[:0] = lost
            self._finished[:0] = finished
            metrics.REDIS_ERRORS.inc()
            log.warning("shared limits: %d settlements wait (%s)",
                        sum(len(b) for _, b in batches) // SETTLEMENT + len(lost) // 2, e)
            if self._flush_at is not None:
                self._flush_at.cancel()
                self._flush_at = None
            self._flush_later(0.5)


def _ledger(now: dt.datetime):
    from models import db

    try:
        return (ledger.tokens_this_month(now), ledger.recent_requests(now, COUNTING),
                selling.credits_added(), selling.credit_spent(),
                ledger.key_spend_this_month(now), ledger.recent_by_key(now, COUNTING))
    finally:
        if not db.is_closed():
            db.close()  # a worker thread's connection: not kept for another use

