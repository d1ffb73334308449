"""Log format: one JSON object per line when asked, with the traceback inside the object."""

from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter


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
