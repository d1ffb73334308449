"""Log format: one JSON object per line when asked, with the traceback inside the object."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import JsonFormatter, setup_logging


def test_json_lines_hold_level_logger_message_and_traceback() -> None:
    try:
        raise ValueError("bad tick")
    except ValueError:
        import sys

        record = logging.LogRecord("bot.core.app", logging.ERROR, __file__, 1, "timer tick failed (%d in a row)",
                                   (2,), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line  # one line per record, whatever the traceback
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.core.app"
    assert entry["message"] == "timer tick failed (2 in a row)"
    assert entry["exception"].startswith("Traceback") and "ValueError: bad tick" in entry["exception"]
    assert entry["time"].endswith("+00:00")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """setup_logging replaces the root logger's handlers and level; the test's are put back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def emitted(*records: tuple[str, int, str]) -> list[str]:
    """Which of these (logger, level, message) records the root handler lets through."""
    [handler] = logging.getLogger().handlers
    return [message for name, level, message in records
            if handler.filter(logging.LogRecord(name, level, __file__, 1, message, None, None))]


RECORDS = (("bot.core.app", logging.DEBUG, "tick"), ("discord.gateway", logging.DEBUG, "heartbeat sent"),
           ("aiosqlite", logging.DEBUG, "executing insert 'zanzibar'"), ("discord.client", logging.INFO, "ready"))


def test_libraries_debug_lines_are_dropped_by_default(root_logging: None) -> None:
    setup_logging("DEBUG")
    assert emitted(*RECORDS) == ["tick", "ready"]


def test_a_library_named_in_library_debug_keeps_its_debug_lines_and_only_that_one(root_logging: None) -> None:
    setup_logging("DEBUG", library_debug=["discord"])
    assert emitted(*RECORDS) == ["tick", "heartbeat sent", "ready"]


def test_bolts_bad_signature_line_loses_its_body_even_with_bolts_debug_kept(root_logging: None) -> None:
    setup_logging("DEBUG", library_debug=["slack_bolt"])
    [handler] = logging.getLogger().handlers
    record = logging.LogRecord("slack_bolt.App", logging.INFO, __file__, 1, "Invalid request signature detected "
                               "(signature: v0=1, timestamp: 2, body: response_url=https://hooks.slack.com/x)",
                               None, None)
    assert handler.filter(record) and "hooks.slack.com" not in record.getMessage()
