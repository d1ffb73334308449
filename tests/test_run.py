"""How ``studybot run`` supervises its adapters: a failure beside the console is never swallowed."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

import pytest

from bot.run import _supervise


async def _fail() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("slack: invalid_auth")


async def test_adapter_failure_beside_the_console_stops_the_process() -> None:
    console = asyncio.create_task(asyncio.Event().wait())
    tasks = {"console": console, "slack": asyncio.create_task(_fail())}
    with pytest.raises(RuntimeError, match="invalid_auth"):
        await _supervise(tasks)
    console.cancel()


async def test_end_of_console_ends_the_run_while_chat_adapters_still_serve() -> None:
    discord = asyncio.create_task(asyncio.Event().wait())
    tasks = {"console": asyncio.create_task(asyncio.sleep(0)), "discord": discord}
    await _supervise(tasks)
    assert tasks["console"].done() and not discord.done()
    discord.cancel()


async def test_without_a_console_the_run_lasts_until_every_adapter_ends() -> None:
    release = asyncio.Event()
    slow = asyncio.create_task(release.wait())
    tasks = {"discord": asyncio.create_task(asyncio.sleep(0)), "slack": slow}
    supervisor = asyncio.create_task(_supervise(tasks))
    for _ in range(5):  # let the quick adapter finish; the supervisor must keep waiting
        await asyncio.sleep(0)
    assert not supervisor.done()
    release.set()
    await supervisor
    assert slow.done()


async def test_a_timer_loop_that_gives_up_stops_the_run_with_its_error() -> None:
    from bot.core.app import TimerFailure

    async def give_up() -> None:
        await asyncio.sleep(0)
        raise TimerFailure("the timer failed 10 times in a row")

    discord = asyncio.create_task(asyncio.Event().wait())
    with pytest.raises(TimerFailure):
        await _supervise({"discord": discord}, [asyncio.create_task(give_up())])
    assert not discord.done()  # the caller cancels and drains the adapters
    discord.cancel()


async def test_a_stop_signal_ends_the_run_while_adapters_still_serve() -> None:
    stop = asyncio.Event()
    slack = asyncio.create_task(asyncio.Event().wait())
    supervisor = asyncio.create_task(_supervise({"slack": slack}, [asyncio.create_task(stop.wait())]))
    await asyncio.sleep(0)
    assert not supervisor.done()
    stop.set()
    await asyncio.wait_for(supervisor, 1)
    assert not slack.done()
    slack.cancel()


def test_every_configurable_adapter_is_registered_and_startable() -> None:
    from bot.adapters import REGISTRY, adapter_runner
    from bot.config import ADAPTERS

    assert set(REGISTRY) == set(ADAPTERS)
    for name in REGISTRY:
        assert inspect.iscoroutinefunction(adapter_runner(name)), name


@pytest.mark.parametrize(("failure", "line"), [
    ("timer", "Stopped: the timer failed 10 times in a row"),
    ("network", "Start-up error: cannot reach Slack"),
])
def test_the_command_line_turns_a_failed_run_into_exit_1_and_one_line(
        failure: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import bot.run
    from bot.cli import main
    from bot.core.app import TimerFailure
    from bot.startup import StartupError

    async def failing_run(config: object, data_dir: Path, library: object) -> None:
        if failure == "timer":
            raise TimerFailure("the timer failed 10 times in a row")
        raise StartupError("cannot reach Slack")

    monkeypatch.setattr(bot.run, "run", failing_run)
    assert main(["run", "--data-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == line + "\n"


def test_studybot_run_loads_the_decks_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line checks the decks before starting; the run must use that library, not read them again."""
    import bot.kb.library
    import bot.run
    from bot.cli import main

    loads: list[int] = []
    real_load_library = bot.kb.library.load_library

    def counting_load_library(*args: Any, **kwargs: Any) -> Any:
        loads.append(1)
        return real_load_library(*args, **kwargs)

    async def serve_nothing(bot: object, config: object) -> None:
        return None

    monkeypatch.setattr(bot.kb.library, "load_library", counting_load_library)
    monkeypatch.setattr(bot.run, "_serve", serve_nothing)
    assert main(["run", "--data-dir", str(tmp_path)]) == 0
    assert len(loads) == 1
