"""The real ``studybot run`` in Slack HTTP mode against a loopback fake of Slack's Web API.

What only the whole process shows: /healthz on the Slack server, /metrics on ``[bot]
metrics_port`` counting a real signed command, SIGTERM ending it with exit 0 and one log
line, and a Web API that cannot be reached giving one line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.adapters.slack.http import EVENTS_PATH
from tests.adapters.test_slack import BOT_TOKEN, FORM, SECRET, FakeSlack, command_fields, signed
from tests.test_metrics import parse_prometheus
from tests.test_process import REPO, WAIT, environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp_path: Path, api_base_url: str, http_port: int, bot: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\nadapters = ["slack"]\n{bot}\n'
                    f'[slack]\nmode = "http"\nhttp_host = "127.0.0.1"\nhttp_port = {http_port}\n'
                    f'api_base_url = "{api_base_url}"\n', encoding="utf-8")
    return path


async def start(tmp_path: Path, config: Path) -> asyncio.subprocess.Process:
    env = environment(tmp_path, STUDYBOT_SLACK_BOT_TOKEN=BOT_TOKEN, STUDYBOT_SLACK_SIGNING_SECRET=SECRET)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), "--data-dir", str(tmp_path / "data"),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=REPO, env=env)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    for process in started:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), WAIT)


async def get_when_up(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """GET ``url`` once the server listens (bounded wait)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            async with session.get(url) as response:
                return response.status, await response.text()
        except aiohttp.ClientConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_slack_http_process_serves_health_and_metrics_and_stops_on_sigterm(
        tmp_path: Path, fake_slack: FakeSlack, processes: list[asyncio.subprocess.Process]) -> None:
    port, metrics_port = free_port(), free_port()
    config = write_config(tmp_path, fake_slack.base_url, port, f"metrics_port = {metrics_port}")
    process = await start(tmp_path, config)
    processes.append(process)
    async with aiohttp.ClientSession() as session:
        status, text = await get_when_up(session, f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and text.startswith("ok: timers ticked")
        raw = urlencode(command_fields(fake_slack, "ask what is eager execution"))
        async with session.post(f"http://127.0.0.1:{port}{EVENTS_PATH}", data=raw.encode(),
                                headers=signed(raw, FORM)) as response:
            assert response.status == 200
        deadline = time.monotonic() + WAIT
        while True:  # the command is acknowledged first and counted as it is handled
            status, text = await get_when_up(session, f"http://127.0.0.1:{metrics_port}/metrics")
            samples = parse_prometheus(text)
            if samples.get(("studybot_commands_total", (("command", "ask"),))) == 1 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert status == 200
        assert samples[("studybot_commands_total", (("command", "ask"),))] == 1
        assert samples[("studybot_lookups_total", (("result", "answered"),))] == 1
        assert 0 <= samples[("studybot_timer_lag_seconds", ())] < 60
        status, _ = await get_when_up(session, f"http://127.0.0.1:{metrics_port}/healthz")
        assert status == 200
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert time.monotonic() - started < 5
    assert process.returncode == 0
    log = err.decode()
    assert "Traceback" not in log
    assert [line for line in log.splitlines() if "stopped" in line] == [
        line for line in log.splitlines() if "StudyBot stopped on SIGTERM: work drained and adapters closed" in line]
    assert log.count("StudyBot stopped on SIGTERM") == 1


async def test_unreachable_slack_api_is_retried_then_named_in_one_line(
        tmp_path: Path, processes: list[asyncio.subprocess.Process]) -> None:
    closed = free_port()  # nothing listens here: connection refused, as when the network is down
    url = f"http://127.0.0.1:{closed}/api/"
    # slack_sdk retries a refused connection once itself, 0.5-1.5 s later: one attempt of ours lasts that long,
    # so with 3 s there is always exactly one retry of ours (1 s later) and never a third attempt.
    config = write_config(tmp_path, url, free_port(), "start_retry_seconds = 3")
    process = await start(tmp_path, config)
    processes.append(process)
    _, err = await asyncio.wait_for(process.communicate(), WAIT)
    log = err.decode()
    assert process.returncode == 1
    assert "Traceback" not in log
    retries = [line for line in log.splitlines() if "WARNING" in line]
    assert len(retries) == 1 and f"cannot reach Slack's Web API at {url} (slack.api_base_url)" in retries[0]
    assert "retrying in 1 s" in retries[0]
    last = log.strip().splitlines()[-1]
    assert last.startswith(f"Start-up error: cannot reach Slack's Web API at {url} (slack.api_base_url) "
                           "(ClientConnectorError: ")
    assert re.search(r"\); gave up after 2 attempt\(s\) in \d s \(bot.start_retry_seconds = 3\); check the "
                     r"network, proxy and firewall$", last), last
