"""SIGHUP on the real ``studybot run`` process: the console's decks are read again while it runs.

The console's input stays open (a person at the terminal), the deck folder lives in a temporary
folder and is edited between questions. Every wait is bounded; the process is killed by pid if a
test fails half-way.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.test_reload import write_decks
from tests.test_process import REPO, WAIT, command, environment


class Output:
    """A pipe read as it comes, without blocking past a deadline (select on the raw file descriptor)."""

    def __init__(self, stream: object) -> None:
        self.fd = stream.fileno()  # type: ignore[attr-defined]
        self.seen = ""

    def until(self, text: str, after: int = 0) -> int:
        """Waits (at most WAIT seconds) for ``text`` past position ``after``; returns where it ends."""
        deadline = time.monotonic() + WAIT
        while (found := self.seen.find(text, after)) < 0:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(left, 0))
            assert ready, f"no {text!r} within {WAIT} s; got:\n{self.seen[after:]}"
            chunk = os.read(self.fd, 65536)
            assert chunk, f"the stream ended before {text!r}; got:\n{self.seen[after:]}"
            self.seen += chunk.decode("utf-8")
        return found + len(text)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Output, Output]]:
    """``studybot run`` on the console with the decks of ``tmp_path/decks`` only, greeted and waiting."""
    write_decks(tmp_path / "decks", "first", "second")
    config = tmp_path / "config.toml"
    config.write_text('[bot]\nlog_level = "INFO"\n\n[decks]\nbuiltin = false\npaths = ["decks"]\n')
    process = subprocess.Popen(command(tmp_path / "data", config), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO, env=environment(tmp_path))
    try:
        out, err = Output(process.stdout), Output(process.stderr)
        out.until("StudyBot console.")
        yield process, out, err
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=WAIT)


def type_line(process: subprocess.Popen[bytes], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line.encode() + b"\n")
    process.stdin.flush()


def test_sighup_serves_an_entry_added_to_the_deck_files(console: tuple[subprocess.Popen[bytes], Output, Output],
                                                        tmp_path: Path) -> None:
    process, out, err = console
    type_line(process, "what is the third widget")
    type_line(process, "topics")  # answered after the question, so its counts mark the end of that answer
    before = out.until("2 entries, 2 cards")
    assert "The third widget is" not in out.seen
    write_decks(tmp_path / "decks", "first", "second", "third")
    process.send_signal(signal.SIGHUP)
    logged = err.until("\n", err.until("INFO bot.run: SIGHUP: decks reloaded in "))
    assert "entries: 1 added, 0 removed, 2 kept; cards: 1 added, 0 removed, 2 kept" in err.seen[:logged]
    type_line(process, "what is the third widget")
    end = out.until("The third widget is what comes third.", before)
    assert "What is the third widget?" in out.seen[before:end]
    assert process.poll() is None  # still running: SIGHUP did not stop it
    process.stdin.close()  # type: ignore[union-attr]
    assert process.wait(timeout=WAIT) == 0
    assert "Traceback" not in err.seen


def test_sighup_with_broken_decks_logs_every_problem_and_keeps_serving_the_old_ones(
        console: tuple[subprocess.Popen[bytes], Output, Output], tmp_path: Path) -> None:
    process, out, err = console
    broken = "entries:\n  - id: Bad Id\n    topic: nowhere\n    question: Broken?\n    answer: Yes.\n"
    write_decks(tmp_path / "decks", "first", "second", "third", broken=broken)
    process.send_signal(signal.SIGHUP)
    start = err.until("ERROR bot.run: SIGHUP: decks not reloaded: the new decks have ")
    err.until("the old decks stay in service:", start)
    more = str(tmp_path / "decks" / "demo" / "more.yaml")
    err.until(f"\n  - {more}:2: ", start)
    err.until(f"\n  - {more}:3: ", start)
    type_line(process, "what is the second widget")
    out.until("The second widget is what comes second.")
    type_line(process, "deck reload")  # the console's person is its admin: the same report, on the console
    out.until("Decks not reloaded")
    process.stdin.close()  # type: ignore[union-attr]
    assert process.wait(timeout=WAIT) == 0
    assert "Traceback" not in err.seen
