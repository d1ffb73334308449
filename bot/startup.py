"""Reaching a chat platform at start: a network that is down is retried with backoff, then named.

A bot started by systemd at boot, or in a container before its network is up, should wait
for the network a little (logging each try) instead of dying with a traceback; and when the
network does not come, it should exit non-zero with one line saying what it could not reach.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
FIRST_DELAY = 1.0
MAX_DELAY = 30.0


class StartupError(Exception):
    """The bot could not start for a reason outside its config (a network that stays down)."""


def is_network_error(exc: BaseException) -> bool:
    """Connection refused or reset, name not resolved, timed out: worth another try."""
    import aiohttp  # here, so that `studybot ask` (which imports this module's StartupError) stays light

    return isinstance(exc, (aiohttp.ClientConnectionError, TimeoutError, OSError))


def describe(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text[:200]}"


async def retry_network(attempt: Callable[[], Awaitable[T]], what: str, budget: float, *,
                        retryable: Callable[[BaseException], bool] = is_network_error,
                        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                        clock: Callable[[], float] = time.monotonic) -> T:
    """``attempt()``, tried again with doubling delays while it fails ``retryable``-ly, for ``budget`` seconds.

    Args:
        attempt: the call that needs the network (e.g. checking the token).
        what: what is being reached and the setting behind it, for the log and the error.
        budget: ``[bot] start_retry_seconds``; 0 tries once.

    Raises:
        StartupError: still failing when the budget is spent; names ``what`` and the last error.
        Exception: anything not ``retryable`` is raised at once (a refused token is not the network).
    """
    started, delay, tries = clock(), FIRST_DELAY, 0
    while True:
        tries += 1
        try:
            return await attempt()
        except Exception as exc:
            if not retryable(exc):
                raise
            spent = clock() - started
            if spent + delay > budget:
                raise StartupError(f"cannot reach {what} ({describe(exc)}); gave up after {tries} attempt(s) in "
                                   f"{spent:.0f} s (bot.start_retry_seconds = {budget:g}); check the network, "
                                   "proxy and firewall") from None
            log.warning("cannot reach %s (%s); retrying in %g s", what, describe(exc), delay)
            await sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
