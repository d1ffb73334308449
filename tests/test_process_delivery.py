"""kill -9 with a reveal pending, through the real ``studybot run`` (Slack HTTP mode, loopback fake Web API).

The issue's reproduction: the platform is slow to take the closing edit, the process is killed
meanwhile, and after the restart the round was never revealed while its points counted. Here
Slack answers the closing edit with HTTP 429 (Retry-After), the process is killed with SIGKILL
while it waits, and a new process on the same data folder delivers the edit and the reveal,
each once, and the question is not posted again.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bot.adapters.slack.http import EVENTS_PATH
from tests.adapters.test_slack import FORM, Call, FakeSlack, command_fields, is_question, is_reveal, signed
from tests.test_process import WAIT
from tests.test_process_slack import fake_slack, free_port, get_when_up, processes, start

__all__ = ["fake_slack", "processes"]  # fixtures, used by name


def write_config(tmp_path: Path, api_base_url: str, http_port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\nadapters = ["slack"]\n[quiz]\nmin_seconds = 1\n'
                    f'[slack]\nmode = "http"\nhttp_host = "127.0.0.1"\nhttp_port = {http_port}\n'
                    f'api_base_url = "{api_base_url}"\n', encoding="utf-8")
    return path


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def reveals(calls: list[Call]) -> list[Call]:
    return [c for c in calls if is_reveal(c)]


async def test_a_reveal_pending_at_kill_9_is_delivered_once_after_the_restart(
        tmp_path: Path, fake_slack: FakeSlack, processes: list[asyncio.subprocess.Process]) -> None:
    port = free_port()
    config = write_config(tmp_path, fake_slack.base_url, port)
    fake_slack.failures["chat.update"] = [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "2"})]
    first = await start(tmp_path, config)
    processes.append(first)
    async with aiohttp.ClientSession() as session:
        await get_when_up(session, f"http://127.0.0.1:{port}/healthz")
        raw = urlencode(command_fields(fake_slack, "quiz seconds 1"))
        async with session.post(f"http://127.0.0.1:{port}{EVENTS_PATH}", data=raw.encode(),
                                headers=signed(raw, FORM)) as response:
            assert response.status == 200
    # The edit needs the question's ts, which is stored as the question is recorded delivered: once the edit
    # reaches Slack, the question is settled, and the kill cannot fall in its at-least-once window.
    await until(lambda: len(fake_slack.of("chat.update")) == 1, "the closing edit to be refused with a 429")
    first.send_signal(signal.SIGKILL)
    _, first_log = await asyncio.wait_for(first.communicate(), WAIT)
    assert reveals(fake_slack.calls) == []  # killed before the reveal: it is only in the outbox now

    second = await start(tmp_path, config)
    processes.append(second)
    await until(lambda: len(reveals(fake_slack.calls)) == 1, "the reveal after the restart")
    await asyncio.sleep(1.0)  # a second reveal, if there were one, would follow within a tick
    second.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(second.communicate(), WAIT)
    assert second.returncode == 0, err.decode()
    updates = fake_slack.of("chat.update")
    assert [c.answer.get("ok") for c in updates] == [False, True]
    questions = [c for c in fake_slack.calls if is_question(c)]
    posts = [c.data.get("text", "")[:60] for c in fake_slack.of("chat.postMessage")]
    assert len(questions) == 1 and len(reveals(fake_slack.calls)) == 1, (posts, first_log.decode(), err.decode())
    assert fake_slack.calls.index(updates[-1]) < fake_slack.calls.index(reveals(fake_slack.calls)[0])
