"""Metrics and health: the Prometheus text format parses, and /healthz turns 503 when the timers stall."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.core.events import CommandEvent
from bot.core.metrics import Counter, Heartbeat, Metrics
from bot.health import health_routes
from tests.core.fakes import CHANNEL, command, make_bot, user

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse_prometheus(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a Prometheus text exposition, checked strictly enough to catch a malformed line.

    Every sample must follow its family's ``# HELP`` and ``# TYPE`` lines; label sets must parse
    completely; values must be numbers.
    """
    assert text.endswith("\n")
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    typed: dict[str, str] = {}
    helped: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("counter", "gauge"), line
            assert name in helped, f"TYPE before HELP: {line}"
            typed[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        assert name in typed, f"sample before its TYPE: {line}"
        pairs = tuple(_LABEL.findall(labels)) if labels else ()
        if labels:
            assert ",".join(f'{k}="{v}"' for k, v in pairs) == labels, f"bad labels: {line}"
        samples[(name, pairs)] = float(value)
    return samples


async def test_metrics_text_parses_and_counts_commands_and_lookups() -> None:
    bot, _, _ = await make_bot()
    await bot.handle_command(command("ask what is eager execution"))
    await bot.handle_command(command("ask how do I center a div", user("bob")))  # alice is cooling down
    await bot.handle_command(CommandEvent(user("alice"), CHANNEL, "frobnicate", {}))
    bot.metrics.posts_delivered.inc("slack")
    samples = parse_prometheus(bot.metrics.render())
    assert samples[("studybot_commands_total", (("command", "ask"),))] == 2
    assert samples[("studybot_commands_total", (("command", "unknown"),))] == 1
    assert samples[("studybot_lookups_total", (("result", "answered"),))] == 1
    assert samples[("studybot_lookups_total", (("result", "declined"),))] == 1
    assert samples[("studybot_posts_delivered_total", (("platform", "slack"),))] == 1
    assert samples[("studybot_answer_presses_total", ())] == 0
    assert ("studybot_timer_lag_seconds", ()) in samples


def test_label_values_are_escaped_and_large_counts_kept_exact() -> None:
    metrics = Metrics(Heartbeat())
    metrics.commands.inc('we"ird\\name\n', amount=1)
    metrics.timer_failures.inc(amount=123456789)
    samples = parse_prometheus(metrics.render())
    assert samples[("studybot_commands_total", (("command", 'we\\"ird\\\\name\\n'),))] == 1
    assert 'studybot_timer_failures_total 123456789\n' in metrics.render()


def test_counter_refuses_the_wrong_labels() -> None:
    counter = Counter("x_total", "X.", ("platform",))
    try:
        counter.inc()
    except ValueError as exc:
        assert "x_total takes labels ('platform',)" in str(exc)
    else:
        raise AssertionError("a counter with a label accepted no label value")


async def test_healthz_is_200_while_timers_tick_and_503_once_they_stall() -> None:
    bot, _, _ = await make_bot()
    now = [1000.0]
    bot.heartbeat = Heartbeat(monotonic=lambda: now[0], stale_after=60)
    app = web.Application()
    app.add_routes(health_routes(bot))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        now[0] += 30
        response = await client.get("/healthz")
        assert response.status == 200 and await response.text() == "ok: timers ticked 30 s ago\n"
        now[0] += 31  # stuck: no tick for 61 s
        response = await client.get("/healthz")
        assert response.status == 503
        assert await response.text() == "unhealthy: timers last ticked 61 s ago (more than 60 s)\n"
        bot.heartbeat.beat()
        assert (await client.get("/healthz")).status == 200
