"""Keeps what people type out of the log, whatever the log level.

At DEBUG, the libraries under StudyBot log what passes through them: aiosqlite every statement
with its parameters (the questions people asked, their names), slack_sdk and slack_bolt request
and response bodies, discord.py REST payloads and gateway events. And slack_bolt logs at INFO
the whole body of a request whose signature is wrong, ``response_url`` included (which lets
whoever holds it answer in that channel for half an hour). A log is read and shipped by more
people than a database is, so these lines are kept out: StudyBot's own DEBUG lines stay, the
libraries' are dropped, and bolt's bad-signature line keeps everything but the body.

Someone troubleshooting one library (a gateway that drops, a Web API call that fails) can name it
in ``[bot] library_debug`` to keep its DEBUG lines, knowing they then carry what people type.
The bad-signature body stays out even then: its ``response_url`` is a credential, not a detail.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Top-level logger names of the libraries whose DEBUG lines carry people's text.
LIBRARIES = frozenset({"aiosqlite", "slack_sdk", "slack_bolt", "discord", "aiohttp", "websockets"})
_SIGNATURE_BODY = re.compile(r",? body: .*\)\Z", re.DOTALL)


class LibraryDetailFilter(logging.Filter):
    """Drops the libraries' DEBUG records (but those of ``keep``) and the body from bolt's bad-signature record."""

    def __init__(self, keep: Iterable[str] = ()) -> None:
        super().__init__()
        self.keep = frozenset(keep)

    def filter(self, record: logging.LogRecord) -> bool:
        library = record.name.partition(".")[0]
        if library in LIBRARIES and library not in self.keep and record.levelno < logging.INFO:
            return False
        if library == "slack_bolt" and "Invalid request signature" in str(record.msg):
            # bolt formats the body into the message itself; keep signature and timestamp.
            record.msg = _SIGNATURE_BODY.sub(", body withheld)", record.getMessage())
            record.args = None
        return True


def keep_users_text_out_of_logs(logger: logging.Logger | None = None) -> None:
    """Adds the filter to every handler of ``logger`` (the root logger by default), once each.

    On the handlers rather than the loggers: a logger's filter does not see its children's
    records, and slack_bolt resets its loggers' levels from the root logger's as it builds them.
    """
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, LibraryDetailFilter) for f in handler.filters):
            handler.addFilter(LibraryDetailFilter())
