"""Log set-up for ``studybot run``: readable text lines, or one JSON object per line for collectors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.log_privacy import LibraryDetailFilter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, log_format: str = "text", library_debug: Iterable[str] = ()) -> None:
    """Sends log records to stderr at ``level``, as ``log_format`` ("text" or "json") lines.

    Whatever the level, the libraries' own DEBUG lines and request bodies stay out (see
    :mod:`bot.log_privacy`): they carry what people typed. Only the libraries named in
    ``library_debug`` (``[bot] library_debug``) keep their DEBUG lines.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(LibraryDetailFilter(keep=library_debug))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
