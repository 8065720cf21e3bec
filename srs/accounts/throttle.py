"""Password-guessing budgets that hold under parallel attack.

An attempt is counted *before* its password is checked, with one atomic step (a Redis script: INCR,
and the window's expiry on the first count), and refunded when the password was right. Twenty
parallel guesses therefore reach the password check at most as often as the budget allows; a limiter
that tests first and counts after lets every request that tested before the first one counted through.

Budgets: one per account (``SRS_LOGIN_LIMIT_PER_ACCOUNT``), shared by ``/login``, the API's
``/auth/token`` and the current-password check of ``/account/password``; one per client address
(``SRS_LOGIN_LIMIT_PER_ADDRESS``). Both count failed checks: the address budget is given back when
the account budget refuses, so that one person hammering their account does not lock out a whole
office behind one address.

When Redis does not answer, sign-in keeps working: the counts fall back to this process's memory
(each process then has its own budget) and Redis is tried again after a short pause.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse

from srs.core import audit
from srs.core.errors import ServiceError
from srs.core.redis import get_redis

KEY_PREFIX = "srs-login"
REDIS_RETRY_SECONDS = 15

# INCR and set the window on the first count, as one step: no other attempt runs in between.
_TAKE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""
# Give one back, never below zero, keeping the window's expiry.
_REFUND = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class TooManyAttempts(ServiceError):
    """The budget of failed password checks is spent: wait for the window to pass."""

    status = 429
    title = _l("Too many attempts")

    def __init__(self, field_name: str | None = None) -> None:
        message = _("Too many attempts. Please wait a few minutes and try again.")
        super().__init__(message, {field_name: [message]} if field_name else None)


class _MemoryCounts:
    """The fallback while Redis is down: fixed windows in this process, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def take(self, key: str, window: float) -> int:
        now = time.monotonic()
        with self._lock:
            count, reset_at = self._counts.get(key, (0, now + window))
            if reset_at <= now:
                count, reset_at = 0, now + window
            self._counts[key] = (count + 1, reset_at)
            return count + 1

    def refund(self, key: str) -> None:
        with self._lock:
            if key in self._counts:
                count, reset_at = self._counts[key]
                self._counts[key] = (max(count - 1, 0), reset_at)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_memory = _MemoryCounts()
_redis_down_until = 0.0


def reset_fallback() -> None:
    """Forget the per-process counts (tests)."""
    global _redis_down_until
    _memory.clear()
    _redis_down_until = 0.0


def _redis_usable() -> bool:
    return time.monotonic() >= _redis_down_until


def _mark_redis_down() -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
    current_app.logger.warning("Redis does not answer: sign-in limits are counted per process for now")


def _count(key: str, window: float) -> int:
    if _redis_usable():
        try:
            # A synchronous client: eval answers the script's count, never an awaitable.
            return int(get_redis().eval(_TAKE, 1, key, int(window * 1000)))  # type: ignore[arg-type]
        except redis.RedisError:
            _mark_redis_down()
    return _memory.take(key, window)


def _give_back(key: str) -> None:
    if _redis_usable():
        try:
            get_redis().eval(_REFUND, 1, key)
            return
        except redis.RedisError:
            _mark_redis_down()
    _memory.refund(key)


@dataclass
class Attempt:
    """Budgets taken for one password check; ``refund`` when the password was right."""

    keys: list[str] = field(default_factory=list)

    def refund(self) -> None:
        for key in self.keys:
            _give_back(key)
        self.keys = []


def _take(key: str, limit: str) -> bool:
    item = parse(limit)
    return _count(key, item.get_expiry()) <= item.amount


def account_key(username: str) -> str:
    return f"{KEY_PREFIX}:account:{username.strip().lower()}"


def address_key(address: str | None) -> str:
    return f"{KEY_PREFIX}:address:{address or '-'}"


def take_password_check(
    username: str, address: str | None, *, channel: str, field_name: str | None = None
) -> Attempt:
    """Count one password check against the account's and the address's budgets, before it is made.

    Raises TooManyAttempts (and writes ``login.locked`` to the audit log) when either is spent.
    """
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return Attempt()
    attempt = Attempt()
    address_budget = address_key(address)
    if not _take(address_budget, config["LOGIN_LIMIT_PER_ADDRESS"]):
        _locked(username, channel, "address", config["LOGIN_LIMIT_PER_ADDRESS"])
        raise TooManyAttempts(field_name)
    attempt.keys.append(address_budget)
    account_budget = account_key(username)
    if not _take(account_budget, config["LOGIN_LIMIT_PER_ACCOUNT"]):
        # The account's budget said no: this attempt checked no password, so the address keeps it.
        attempt.refund()
        _locked(username, channel, "account", config["LOGIN_LIMIT_PER_ACCOUNT"])
        raise TooManyAttempts(field_name)
    attempt.keys.append(account_budget)
    return attempt


def _locked(username: str, channel: str, budget: str, limit: str) -> None:
    audit.record_security(
        "login.locked",
        "user",
        None,
        attempted_username=username.strip()[:80],
        channel=channel,
        budget=budget,
        limit=limit,
    )
