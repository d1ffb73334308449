"""What the bot counts, and whether its timers are alive: declared once, rendered for Prometheus.

A tiny hand-written registry rather than ``prometheus_client``: the bot needs a handful of
counters and one gauge, the text format is a few lines, and one object per ``StudyBot``
(not a process-wide global) keeps tests independent. Core code increments; ``bot.health``
serves :meth:`Metrics.render` at ``GET /metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# A tick every second; a minute without a successful one means reveals and daily posts have stopped.
TIMER_STALE_SECONDS = 60.0


class Counter:
    """A monotonically increasing count, optionally split by one or more labels."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labels = labels
        self._values: dict[tuple[str, ...], float] = {} if labels else {(): 0.0}

    def inc(self, *label_values: str, amount: float = 1.0) -> None:
        """Adds ``amount``; pass one value per label, in the order the labels were declared."""
        if len(label_values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {label_values}")
        self._values[label_values] = self._values.get(label_values, 0.0) + amount

    def value(self, *label_values: str) -> float:
        """The current count (0 for label values never seen)."""
        return self._values.get(label_values, 0.0)

    def samples(self) -> list[tuple[tuple[str, ...], float]]:
        return sorted(self._values.items())


class Gauge:
    """A value read when scraped (from ``read``), such as how long ago the timer last ticked."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name = name
        self.help = help_text
        self.labels: tuple[str, ...] = ()
        self.read = read

    def samples(self) -> list[tuple[tuple[str, ...], float]]:
        return [((), float(self.read()))]


class Heartbeat:
    """When the timer loop last completed a tick; stale means reveals and daily posts have stopped."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic,
                 stale_after: float = TIMER_STALE_SECONDS) -> None:
        self.monotonic = monotonic
        self.stale_after = stale_after
        self.last = monotonic()  # counted from start: a loop that never ticks goes stale too

    def beat(self) -> None:
        """Records a successful tick."""
        self.last = self.monotonic()

    def lag(self) -> float:
        """Seconds since the last successful tick (or since start)."""
        return max(0.0, self.monotonic() - self.last)

    def alive(self) -> bool:
        return self.lag() <= self.stale_after


class Metrics:
    """Every metric StudyBot exports. Names follow Prometheus conventions (``_total`` for counters).

    ``posts_*`` are counted by the delivery worker, labelled by platform; ``lookups`` by result
    (``answered`` or ``declined``); ``commands`` by command name (``unknown`` for others).
    """

    def __init__(self, heartbeat: Heartbeat) -> None:
        self.commands = Counter("studybot_commands_total", "Commands handled, by command name.", ("command",))
        self.answer_presses = Counter("studybot_answer_presses_total",
                                      "Quiz answer buttons pressed (repeat and late presses included).")
        self.lookups = Counter("studybot_lookups_total", "Concept lookups (ask), by result: answered or declined.",
                               ("result",))
        self.posts_delivered = Counter("studybot_posts_delivered_total",
                                       "Messages the bot posted on its own that reached the platform.", ("platform",))
        self.posts_retried = Counter("studybot_posts_retried_total",
                                     "Delivery attempts that failed and will be retried.", ("platform",))
        self.posts_given_up = Counter("studybot_posts_given_up_total",
                                      "Messages the platform will never take (channel gone, bot removed).",
                                      ("platform",))
        self.timer_failures = Counter("studybot_timer_failures_total", "Timer ticks that raised an error.")
        self.deck_reloads = Counter("studybot_deck_reloads_total",
                                    "Deck reloads (deck reload, SIGHUP), by outcome: reloaded, refused or busy.",
                                    ("outcome",))
        self.timer_lag = Gauge("studybot_timer_lag_seconds",
                               "Seconds since the timer loop last completed a tick (about 1 when healthy).",
                               heartbeat.lag)

    def all(self) -> list[Counter | Gauge]:
        return [m for m in vars(self).values() if isinstance(m, (Counter, Gauge))]

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        for metric in self.all():
            kind = "counter" if isinstance(metric, Counter) else "gauge"
            lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {kind}"]
            for label_values, value in metric.samples():
                labels = ",".join(f'{k}="{_escape(v)}"' for k, v in zip(metric.labels, label_values))
                text = str(int(value)) if value.is_integer() else repr(value)
                lines.append(f"{metric.name}{{{labels}}} {text}" if labels else f"{metric.name} {text}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
