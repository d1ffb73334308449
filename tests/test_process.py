"""The real ``studybot run`` process: start-up failures exit non-zero with one line, signals stop it cleanly.

Every wait is bounded and every process a test starts is killed by pid when the test ends, so a
regression shows as a failure, never as a hung suite.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.run import DB_FILE
from bot.store.lock import LOCK_FILE

REPO = Path(__file__).resolve().parent.parent
WAIT = 20.0  # generous bound for a loaded machine; a passing run takes about 2 s
SECRET_VARS = ("STUDYBOT_DISCORD_TOKEN", "STUDYBOT_SLACK_BOT_TOKEN", "STUDYBOT_SLACK_APP_TOKEN",
               "STUDYBOT_SLACK_SIGNING_SECRET")


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    return dict(env, HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"), **extra)


def command(data_dir: Path, config: Path | None = None) -> list[str]:
    args = [sys.executable, "-m", "bot", "run", "--data-dir", str(data_dir)]
    return args + (["--config", str(config)] if config else [])


def studybot_run(tmp_path: Path, data_dir: Path, config: Path | None = None,
                 prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Runs ``studybot run`` with empty input; a hang fails the test (subprocess.run kills it on timeout)."""
    return subprocess.run([*prefix, *command(data_dir, config)], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, cwd=REPO, env=environment(tmp_path), timeout=WAIT)


def one_line(run: subprocess.CompletedProcess[str]) -> str:
    """stderr, which must be exactly one line and no traceback."""
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any still running at the end are killed, by pid."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT)


def start_console(tmp_path: Path, data_dir: Path, processes: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    """A console with an open, silent stdin (a person who has typed nothing), ready once it greets."""
    process = subprocess.Popen(command(data_dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=REPO, env=environment(tmp_path))
    processes.append(process)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], WAIT)
    assert ready, "the console did not start"
    assert process.stdout.readline().startswith("StudyBot console.")
    return process


def stop(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str]:
    """Sends ``sig``; returns the exit status and stderr, within a bounded wait."""
    started = time.monotonic()
    process.send_signal(sig)
    _, err = process.communicate(timeout=WAIT)
    assert time.monotonic() - started < 5, "stopping took longer than 5 s"
    return process.returncode, err


# Start-up problems: exit 1 or 2, one line naming the file or setting


def test_corrupt_database_file_exits_1_naming_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / DB_FILE).write_bytes(b"this is not a database, it was overwritten by mistake" * 100)
    run = studybot_run(tmp_path, data)
    assert run.returncode == 1
    assert one_line(run) == (f"Database error: {data / DB_FILE} is not a SQLite database, or is damaged (file is "
                             "not a database); move it aside to start with an empty database, or restore it from "
                             "a backup")


def test_data_dir_under_a_regular_file_exits_1(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    run = studybot_run(tmp_path, tmp_path / "file" / "data")
    assert run.returncode == 1
    assert one_line(run) == (f"Data folder error: cannot create the data folder {tmp_path / 'file' / 'data'}: part "
                             "of that path is a file, not a folder; choose another folder with --data-dir or "
                             "[bot] data_dir")


def without_root_privileges() -> tuple[str, ...]:
    """A command prefix that, as root (CI), drops the privilege to write anywhere for the bot's process only."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")


def test_read_only_data_folder_exits_1(tmp_path: Path) -> None:
    prefix = without_root_privileges()
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    try:
        run = studybot_run(tmp_path, data, prefix=prefix)
    finally:
        data.chmod(0o755)
    assert run.returncode == 1
    assert one_line(run) == (f"Data folder error: cannot create {data / LOCK_FILE} (Permission denied); the data "
                             "folder must be writable by the user running StudyBot, or choose another folder with "
                             "--data-dir or [bot] data_dir")


def test_read_only_database_file_exits_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sqlite3.connect(data / DB_FILE).close()
    (data / DB_FILE).chmod(0o444)
    run = studybot_run(tmp_path, data, prefix=without_root_privileges())
    assert run.returncode == 1
    assert one_line(run).startswith(f"Database error: cannot open {data / DB_FILE} for writing")


@pytest.mark.parametrize(("setting", "message"), [
    ("[cooldowns]\nask_seconds = nan", "cooldowns.ask_seconds: expected a finite number, got nan"),
    ("[daily]\nopen_hours = inf", "daily.open_hours: expected a finite number, got inf"),
    ("[daily]\ngrace_minutes = 9e18", "daily.grace_minutes: expected a whole number, got 9e+18"),
])
def test_durations_that_are_not_finite_or_sane_exit_2(tmp_path: Path, setting: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(setting + "\n", encoding="utf-8")
    run = studybot_run(tmp_path, tmp_path / "data", config)
    assert run.returncode == 2
    assert one_line(run) == f"Configuration error: {config}: {message}"
    assert not (tmp_path / "data").exists()


def test_latin1_config_exits_2_naming_the_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes("[bot]\n# \u00e9quipe\n".encode("latin-1"))
    run = studybot_run(tmp_path, tmp_path / "data", config)
    assert run.returncode == 2
    assert one_line(run) == (f"Configuration error: {config}:2: the file is not UTF-8 text (byte 0xe9); save it "
                             "as UTF-8 (TOML files must be)")


# One data folder, one process; signals


def test_second_process_on_one_data_folder_is_refused_and_sigterm_stops_the_first(
        tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    data = tmp_path / "data"
    first = start_console(tmp_path, data, processes)
    second = studybot_run(tmp_path, data)
    assert second.returncode == 1
    assert one_line(second) == (f"Not started: StudyBot is already running on the data folder {data} "
                                f"(pid {first.pid}); stop that one first, or give this one another --data-dir")
    status, err = stop(first, signal.SIGTERM)
    assert status == 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "StudyBot stopped on SIGTERM: work drained and adapters closed" in lines[0], err
    # The lock went with the process: the folder can be used again at once.
    assert studybot_run(tmp_path, data).returncode == 0


def test_ctrl_c_stops_the_console_at_once_without_another_line(
        tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    console = start_console(tmp_path, tmp_path / "data", processes)
    status, err = stop(console, signal.SIGINT)  # stdin stays open and silent: nothing more is typed
    assert status == 0
    assert "StudyBot stopped on SIGINT" in err and "Traceback" not in err


def test_kill_9_leaves_no_lock_behind(tmp_path: Path, processes: list[subprocess.Popen[str]]) -> None:
    data = tmp_path / "data"
    console = start_console(tmp_path, data, processes)
    console.kill()
    console.wait(timeout=WAIT)
    assert (data / LOCK_FILE).exists()  # the file stays; the kernel dropped the lock with the process
    assert studybot_run(tmp_path, data).returncode == 0
