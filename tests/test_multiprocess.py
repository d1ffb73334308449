"""Three real ``studybot run`` processes on one PostgreSQL database, as Slack HTTP workers side by side.

Slack is a loopback fake of its Web API (each process has its own bot token, so the fake knows
which process made each call); requests are signed as Slack signs them and spread over the three
workers the way a load balancer would. The processes share one data folder on purpose: with
PostgreSQL there is no folder lock. The tests run in order on the same three processes; the last
one kills one of them with SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
import asyncpg
import pytest
import pytest_asyncio
from aiohttp import web

from bot.adapters.slack.http import EVENTS_PATH
from bot.core import buttons as button_ids
from tests.adapters.test_slack import (
    FORM,
    GENERAL,
    SECRET,
    Call,
    FakeSlack,
    buttons_of,
    command_fields,
    is_question,
    is_reveal,
    payload,
    signed,
)
from tests.postgres_server import PostgresServer, free_port
from tests.test_process import REPO, environment

pytestmark = pytest.mark.asyncio(loop_scope="module")
WORKERS = 3
WAIT = 40.0  # three processes starting at once on a loaded two-core machine
LEASE = 6  # [delivery] lease_seconds at its least: an attempt gets 2 s, a dead worker's post waits 6 s
ADMIN = "U0ADMIN01"


class WorkersSlack(FakeSlack):
    """The fake Web API, able to hold a reveal's post unanswered (the poster is then killed mid-delivery)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_reveals = False
        self.held: asyncio.Queue[str] = asyncio.Queue()  # tokens of the processes whose reveal is held
        self.release = asyncio.Event()

    async def _api(self, request: web.Request) -> web.Response:
        if not (self.hold_reveals and request.match_info["method"] == "chat.postMessage"):
            return await super()._api(request)
        data = await _data(request)  # the body can be read once: answered here, as the base class would
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        call = Call("chat.postMessage", data, token)
        if not is_reveal(call):
            call.answer = self._answer("chat.postMessage", data)
            self.calls.append(call)
            return web.json_response(call.answer)
        self.hold_reveals = False
        await self.held.put(token)
        await self.release.wait()
        return web.json_response({"ok": False, "error": "fatal_error"}, status=500)

    def hold_next_reveal(self) -> None:
        """Hold the next reveal's post unanswered until ``release`` is set: a fresh event each time, so
        a test that released an earlier hold does not leave the next one released at once."""
        self.release = asyncio.Event()
        self.hold_reveals = True

    def reveals(self) -> list[tuple[str, str]]:
        """(token, text) of every reveal Slack took."""
        return [(c.token, json.dumps(c.data)) for c in self.calls if c.answer.get("ok") and is_reveal(c)]


async def _data(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(await request.json())
    return dict(await request.post())


@dataclass
class Cluster:
    slack: WorkersSlack
    url: str
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    session: aiohttp.ClientSession
    presses: int = 0
    tokens: list[str] = field(default_factory=list)

    async def send(self, worker: int, raw: str, headers: dict[str, str] | None = None) -> int:
        async with self.session.post(f"http://127.0.0.1:{self.ports[worker]}{EVENTS_PATH}", data=raw.encode(),
                                     headers={**signed(raw, FORM), **(headers or {})}) as response:
            await response.read()
            return response.status

    async def command(self, worker: int, text: str, user: str = ADMIN) -> int:
        return await self.send(worker, urlencode(command_fields(self.slack, text, user)))

    def press_body(self, value: str, user: str) -> str:
        self.presses += 1
        n = self.presses
        body = payload("block_actions")
        body["user"] = {**body["user"], "id": user, "username": user.lower(), "name": user.lower()}
        body["trigger_id"] = f"trigger.mp.{n}"
        body["response_url"] = self.slack.response_url(f"mp{n}")
        body["actions"] = [{**body["actions"][0], "action_id": value, "value": value, "action_ts": f"1767000001.{n}"}]
        return "payload=" + quote_plus(json.dumps(body))

    def log_text(self) -> str:
        calls = "\n".join(f"{c.method} {c.token} ok={c.answer.get('ok')} {json.dumps(c.data)[:150]}"
                          for c in self.slack.calls if c.method != "users.info")
        logs = "\n".join(f"--- worker {i} ---\n{path.read_text(errors='replace')[-3000:]}"
                          for i, path in enumerate(self.logs))
        return f"--- Slack calls ---\n{calls[-6000:]}\n{logs}"

    async def rows(self, sql: str) -> list[asyncpg.Record]:
        con = await asyncpg.connect(self.url)
        try:
            return list(await con.fetch(sql))
        finally:
            await con.close()


async def until(condition: Callable[[], bool], cluster: Cluster, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{cluster.log_text()}")
        await asyncio.sleep(0.05)


def users(count: int, slack: FakeSlack) -> list[str]:
    ids = [f"U0P{i:05d}" for i in range(count)]
    for user_id in ids:
        slack.users[user_id] = {"id": user_id, "team_id": "T0STUDY01", "name": user_id.lower(), "real_name": user_id,
                                "is_admin": False, "is_owner": False, "is_bot": False,
                                "profile": {"display_name": user_id, "real_name": user_id}}
    return ids


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[Cluster]:
    tmp = tmp_path_factory.mktemp("workers")
    url = postgres_server.fresh_database()
    slack = WorkersSlack()
    await slack.server.start_server()
    ports = [free_port() for _ in range(WORKERS)]
    processes: list[subprocess.Popen[bytes]] = []
    logs = [tmp / f"worker{i}.log" for i in range(WORKERS)]
    session = aiohttp.ClientSession()
    cluster = Cluster(slack, url, ports, processes, logs, session)
    try:
        for i, port in enumerate(ports):
            config = tmp / f"worker{i}.toml"
            config.write_text(
                f'[bot]\nadapters = ["slack"]\nstart_retry_seconds = 10\n'
                f'[slack]\nmode = "http"\nhttp_host = "127.0.0.1"\nhttp_port = {port}\n'
                f'api_base_url = "{slack.base_url}"\n[store]\nurl = "{url}"\npool_size = 4\n'
                f'[delivery]\nfirst_retry_seconds = 0.5\nlease_seconds = {LEASE}\n'
                f'[daily]\ncheck_seconds = 1\n[quiz]\nmin_seconds = 1\n'
                f'[cooldowns]\nask_seconds = 30\nquiz_seconds = 0\n', encoding="utf-8")
            token = f"xoxb-worker-{i}"
            cluster.tokens.append(token)
            env = environment(tmp, STUDYBOT_SLACK_BOT_TOKEN=token, STUDYBOT_SLACK_SIGNING_SECRET=SECRET)
            with logs[i].open("wb") as log:  # one data folder for all three: no lock with PostgreSQL
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "bot", "run", "--config", str(config), "--data-dir", str(tmp / "data")],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=REPO, env=env))
        for i, port in enumerate(ports):
            await _wait_healthy(session, port, processes[i], cluster)
        yield cluster
    finally:
        slack.release.set()
        await session.close()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=WAIT)
        await slack.server.close()


async def _wait_healthy(session: aiohttp.ClientSession, port: int, process: subprocess.Popen[bytes],
                        cluster: Cluster) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        if process.poll() is not None:
            raise AssertionError(f"a worker exited with {process.returncode}\n{cluster.log_text()}")
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"worker on port {port} not healthy\n{cluster.log_text()}")
        await asyncio.sleep(0.1)


def question_buttons(slack: FakeSlack, after: int) -> list[str]:
    posts = [c for c in slack.of("chat.postMessage")[after:] if is_question(c)]
    if not posts:
        return []
    values = [b["value"] for b in buttons_of(posts[-1].data["blocks"])]
    return [v for v in values if isinstance(button_ids.parse(v), button_ids.AnswerPress)]  # not the 50/50 hint (#13)


async def start_quiz(cluster: Cluster, seconds: int) -> tuple[int, list[str]]:
    before, replies = len(cluster.slack.of("chat.postMessage")), len(cluster.slack.of("respond"))
    assert await cluster.command(0, f"quiz seconds {seconds}") == 200
    await until(lambda: bool(question_buttons(cluster.slack, before)), cluster, "the question")
    await until(lambda: any("Quiz started" in c.data.get("text", "") for c in cluster.slack.of("respond")[replies:]),
                cluster, "the reply to the quiz command")
    values = question_buttons(cluster.slack, before)
    return int(values[0].split(":")[-2]), values  # v1:answer:<round>:<choice>


async def test_a_burst_of_answers_over_three_workers_counts_each_user_once_and_reveals_once(cluster: Cluster) -> None:
    people = users(90, cluster.slack)
    round_id, values = await start_quiz(cluster, seconds=8)
    replies_before = len(cluster.slack.of("respond"))
    bodies = [(i % WORKERS, cluster.press_body(values[i % len(values)], person)) for i, person in enumerate(people)]
    # Each person presses twice more, on the two other workers: refused there, as the database says.
    again = [((i + 1) % WORKERS, cluster.press_body(values[0], person)) for i, person in enumerate(people[:30])]
    statuses = await asyncio.gather(*(cluster.send(w, body) for w, body in bodies + again))
    assert set(statuses) == {200}
    await until(lambda: len(cluster.slack.of("respond")) - replies_before >= len(bodies) + len(again), cluster,
                "an answer to every press")
    texts = [c.data.get("text", "") for c in cluster.slack.of("respond")[replies_before:]]
    assert sum("locked in" in t for t in texts) == 90 and sum("already answered" in t for t in texts) == 30
    # A resend by Slack of a press already taken, load-balanced to another worker: acknowledged, not handled.
    resent = bodies[0][1]
    assert await cluster.send(2 if bodies[0][0] != 2 else 1, resent, {"X-Slack-Retry-Num": "1",
                                                                       "X-Slack-Retry-Reason": "http_timeout"}) == 200

    await until(lambda: len(cluster.slack.reveals()) >= 1, cluster, "the reveal", timeout=WAIT)
    await asyncio.sleep(2.5)  # every worker ticked at least twice since: a second reveal would be here
    reveals = cluster.slack.reveals()
    assert len(reveals) == 1, reveals
    assert "90 (" in reveals[0][1]  # the Answers field: 90 answers, each user once
    [[count]] = await cluster.rows(f"SELECT count(*) FROM answers WHERE round_id = {round_id}")
    assert count == 90
    assert len([c for c in cluster.slack.of("chat.update") if c.answer.get("ok")]) == 1  # the closing edit, once
    assert len(cluster.slack.of("respond")) - replies_before == len(bodies) + len(again)  # the resend was dropped


async def test_a_cooldown_holds_across_workers(cluster: Cluster) -> None:
    before = len(cluster.slack.of("respond"))
    assert await cluster.command(0, "ask what is eager execution", "U0ALICE01") == 200
    await until(lambda: len(cluster.slack.of("respond")) > before, cluster, "the first answer")
    assert await cluster.command(1, "ask what is a tensor", "U0ALICE01") == 200
    await until(lambda: len(cluster.slack.of("respond")) > before + 1, cluster, "the second answer")
    second = cluster.slack.of("respond")[before + 1].data.get("text", "")
    assert second.startswith("Easy there: you can use `ask` again in"), second


async def test_a_daily_challenge_due_on_every_worker_at_once_is_posted_once(cluster: Cluster) -> None:
    now = datetime.now(UTC)
    intros_before = _intros(cluster.slack)
    # Due now on every worker's next check (each checks every second): the three race for one day's fire.
    await cluster.rows(
        "INSERT INTO schedules (platform, workspace, channel, local_time, timezone, questions, topic, enabled, "
        f"updated_at) VALUES ('slack', 'T0STUDY01', '{GENERAL}', '{now:%H:%M}', 'UTC', 1, NULL, TRUE, "
        f"'{(now - timedelta(hours=1)).isoformat()}')")
    await until(lambda: _intros(cluster.slack) > intros_before, cluster, "the daily challenge")
    await asyncio.sleep(3)  # each worker checked again at least twice
    assert _intros(cluster.slack) == intros_before + 1
    [[fires]] = await cluster.rows("SELECT count(*) FROM fires")
    assert fires == 1


def _intros(slack: FakeSlack) -> int:
    return sum(1 for c in slack.of("chat.postMessage") if c.answer.get("ok") and "Daily challenge for" in
               json.dumps(c.data))


async def test_a_post_slack_does_not_answer_is_cut_off_and_retried_before_the_lease_ends(cluster: Cluster) -> None:
    """A live worker stops waiting for Slack after a third of its lease, so it is never still sending
    when another worker may take the post over: the reveal is posted once, on the second attempt."""
    reveals_before = len(cluster.slack.reveals())
    cluster.slack.hold_next_reveal()  # Slack takes the reveal's first post and never answers it
    round_id, _ = await start_quiz(cluster, seconds=1)
    holder_token = await asyncio.wait_for(cluster.slack.held.get(), WAIT)
    held_at = time.monotonic()
    await until(lambda: len(cluster.slack.reveals()) > reveals_before, cluster, "the reveal, retried")
    retried_in = time.monotonic() - held_at
    assert LEASE / 3 - 0.5 < retried_in < LEASE, retried_in  # cut off after 2 s, retried 0.25-0.5 s later
    assert len(cluster.slack.reveals()) == reveals_before + 1
    [[delivered, attempts]] = await cluster.rows(
        f"SELECT count(*), max(attempts) FROM outbox WHERE round_id = {round_id} AND purpose = 'reveal' "
        "AND delivered_at IS NOT NULL")
    assert (delivered, attempts) == (1, 2)
    holder = cluster.tokens.index(holder_token)
    assert cluster.processes[holder].poll() is None
    assert f"no answer within {LEASE / 3:g} s" in cluster.logs[holder].read_text(errors="replace")


async def test_a_worker_killed_while_holding_a_claim_has_it_taken_over_within_the_lease(cluster: Cluster) -> None:
    # Last in the file on purpose: it leaves the module's cluster a worker short (commands go to
    # worker 0, which may be the one killed). pytest runs a file's tests in order.
    reveals_before = len(cluster.slack.reveals())
    cluster.slack.hold_next_reveal()
    round_id, _ = await start_quiz(cluster, seconds=1)
    holder_token = await asyncio.wait_for(cluster.slack.held.get(), WAIT)  # a worker is posting the reveal
    holder = cluster.tokens.index(holder_token)
    cluster.processes[holder].send_signal(signal.SIGKILL)
    cluster.processes[holder].wait(timeout=WAIT)
    killed_at = time.monotonic()
    cluster.slack.release.set()
    await until(lambda: len(cluster.slack.reveals()) > reveals_before, cluster, "the reveal, taken over")
    taken_over_in = time.monotonic() - killed_at
    assert taken_over_in < LEASE + 5, taken_over_in  # the lease, then the next tick of a live worker (1 s)
    [(token, _)] = cluster.slack.reveals()[reveals_before:]
    assert token != holder_token
    [[delivered, attempts]] = await cluster.rows(
        f"SELECT count(*), max(attempts) FROM outbox WHERE round_id = {round_id} AND purpose = 'reveal' "
        "AND delivered_at IS NOT NULL")
    assert (delivered, attempts) == (1, 2)  # the killed worker's attempt, then the one that took it over
