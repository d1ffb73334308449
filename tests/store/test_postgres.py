"""What only the PostgreSQL store has: its migrations under an advisory lock, a server that restarts,
statement timeouts, start-up retries and the config that chooses it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.chat import Channel
from bot.cli import main
from bot.config import Config, StoreSection, load_config
from bot.core.app import UNAVAILABLE
from bot.database import open_postgres
from bot.store.base import AnswerRecord, RoundRecord, StoreError, StoreUnavailable
from bot.store.migrations import POSTGRES_MIGRATIONS
from bot.store.postgres import PostgresStore
from tests.core.fakes import command, library, user
from tests.postgres_server import TEMPLATE, PostgresServer, free_port

CHANNEL = Channel("test", "w1", "c1")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def version_and_tables(url: str) -> tuple[int, set[str]]:
    con = await asyncpg.connect(url)
    try:
        version = await con.fetchval("SELECT max(version) FROM schema_version")
        tables = {r[0] for r in await con.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        await con.close()
    return int(version), tables


async def test_concurrent_starts_on_an_empty_database_apply_each_migration_once(
        postgres_server: PostgresServer) -> None:
    url = postgres_server.fresh_database(migrated=False)
    stores = await asyncio.gather(*(PostgresStore.open(url, pool_size=1) for _ in range(4)))
    for store in stores:
        await store.close()
    version, tables = await version_and_tables(url)
    assert version == len(POSTGRES_MIGRATIONS)
    assert tables >= {"rounds", "answers", "schedules", "fires", "workspaces", "gaps", "outbox", "cooldowns",
                      "deliveries_seen", "schema_version"}


async def test_a_schema_newer_than_this_studybot_is_refused_by_name(postgres_server: PostgresServer) -> None:
    postgres_url = postgres_server.fresh_database()
    con = await asyncpg.connect(postgres_url)
    await con.execute("UPDATE schema_version SET version = 99")
    await con.close()
    with pytest.raises(StoreError, match="schema is version 99, newer than this StudyBot knows"):
        await PostgresStore.open(postgres_url, pool_size=1)


def test_db_upgrade_migrates_the_configured_postgresql_database(postgres_server: PostgresServer, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres_server.fresh_database(migrated=False)
    config = tmp_path / "studybot.toml"
    config.write_text(f'[store]\nurl = "{url}"\n')
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert main(["db", "upgrade", "--config", str(config)]) == 0  # nothing pending
    assert capsys.readouterr().out == f"Database {url} is up to date.\n" * 2
    assert asyncio.run(version_and_tables(url))[0] == len(POSTGRES_MIGRATIONS)


def test_an_unreachable_server_is_named_in_one_line_after_the_retries(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://studybot@127.0.0.1:{free_port()}/studybot"  # nothing listens there
    config = tmp_path / "studybot.toml"
    config.write_text(f'[bot]\nstart_retry_seconds = 0\n[store]\nurl = "{url}"\n')
    assert main(["db", "upgrade", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"Start-up error: cannot reach the PostgreSQL server at {url} (store.url) (StoreUnavailable")
    assert "gave up after 1 attempt(s)" in err


async def test_start_up_waits_for_a_server_that_comes_up(postgres_server: PostgresServer) -> None:
    postgres_server.stop()
    loop = asyncio.get_running_loop()
    starting = loop.run_in_executor(None, _start_later, postgres_server)
    try:
        store = await asyncio.wait_for(open_postgres(postgres_server.url(TEMPLATE), Config(), 20), 40)
    finally:
        await starting
    await store.close()


def _start_later(server: PostgresServer) -> None:
    import time

    time.sleep(1.5)
    server.start()


@pytest.mark.parametrize("text, expected", [
    ('[store]\nurl = "mysql://db/studybot"\n', "store.url: expected a PostgreSQL URL such as"),
    ('[store]\nurl = "postgresql://bot:hunter2@db/studybot"\n', "store.url: holds a password; remove it"),
    ('[store]\npassword_env = "hunter2!"\n', "store.password_env: must be the name of an environment variable"),
    ("[store]\npool_size = 0\n", "store.pool_size: must be 1 or more, got 0"),
    ("[store]\nstatement_timeout_seconds = 0\n", "store.statement_timeout_seconds: must be 0.1 or more, got 0"),
    ("[discord]\nshard_ids = [0, 1]\n", "discord.shard_ids: needs discord.shard_count"),
    ("[discord]\nshard_count = 2\nshard_ids = [1, 2]\n", "discord.shard_ids: shard ids run from 0 to 1"),
    ('[discord]\nshard_count = 2\nshard_ids = ["0"]\n', "discord.shard_ids: expected a list of whole numbers"),
])
def test_store_and_shard_settings_are_checked_by_name(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "studybot.toml"
    path.write_text(text)
    with pytest.raises(Exception) as caught:
        load_config(path)
    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_the_password_comes_from_the_variable_the_config_names(monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config(store=StoreSection(url="postgresql://bot@db/studybot", password_env="STUDYBOT_DB_PASSWORD"))
    monkeypatch.delenv("STUDYBOT_DB_PASSWORD", raising=False)
    with pytest.raises(Exception, match="store.password_env: the environment variable STUDYBOT_DB_PASSWORD is not "
                                        "set .it must hold the PostgreSQL password"):
        config.check_secrets()


# A server that restarts under a running bot


@contextlib.contextmanager
def server_down(server: PostgresServer) -> Iterator[None]:
    server.stop()
    try:
        yield
    finally:
        server.start()


async def test_a_restarted_server_is_reached_again_and_nothing_is_lost(postgres_server: PostgresServer,
                                                                       postgres_url: str) -> None:
    from bot.core.app import StudyBot
    from tests.clock import FakeClock
    from tests.core.fakes import RecordingOutbox

    store = await PostgresStore.open(postgres_url, pool_size=3, statement_timeout=2)
    try:
        clock = FakeClock(NOON)
        bot = StudyBot(library(), store, Config(), clock=clock)
        bot.attach("test", RecordingOutbox())
        [started] = await bot.handle_command(command("quiz seconds 30", user("alice")))
        assert "Quiz started" in started.body
        [round_id] = list(bot.quiz.open)
        with server_down(postgres_server):
            # What needs no database is still answered; what does is refused with a clear reply.
            [help_reply] = await bot.handle_command(command("help"))
            assert help_reply.title == "StudyBot commands"
            [refused] = await bot.handle_button(_press(round_id, "bob"))
            assert refused.body == UNAVAILABLE
            with pytest.raises(StoreUnavailable):
                await bot.tick()  # the timer loop retries it with backoff
        [taken] = await bot.handle_button(_press(round_id, "bob"))  # the same press, once the server is back
        assert "locked in" in taken.body
        clock.advance(seconds=31)
        await bot.tick()
        [answer] = await store.answers(round_id)
        assert answer.user_id == "u-bob"
        assert (await store.get_round(round_id)).closed_at is not None  # type: ignore[union-attr]
    finally:
        await store.close()


def _press(round_id: int, name: str):  # type: ignore[no-untyped-def]
    from tests.core.fakes import press

    return press(f"answer:{round_id}:0", user(name))


async def test_a_statement_past_the_timeout_is_cancelled_as_unavailable(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url, pool_size=1, statement_timeout=0.2)
    try:
        with pytest.raises(StoreUnavailable, match="QueryCanceledError"):
            await store._read(lambda con: con.fetchval("SELECT pg_sleep(2)"))
        record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON))
        assert record is not None  # the pool goes on
        assert await store.record_answer(AnswerRecord(record.id, "u1", "U1", 0, True, 10, NOON), "test", "w1")
    finally:
        await store.close()


async def test_answers_to_a_round_not_in_the_database_fail_alone(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url, pool_size=2)
    try:
        record = await store.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON))
        assert record is not None
        presses = [store.record_answer(AnswerRecord(round_id, user, user.upper(), 0, True, 10, NOON), "test", "w1")
                   for round_id, user in ((record.id, "u1"), (999_999, "u2"), (record.id, "u3"))]
        outcomes = await asyncio.gather(*presses, return_exceptions=True)  # one batch
        assert outcomes[0] is True and outcomes[2] is True
        assert isinstance(outcomes[1], StoreError) and "round 999999" in str(outcomes[1])
        assert [a.user_id for a in await store.answers(record.id)] == ["u1", "u3"]
        assert await store.record_answer(AnswerRecord(record.id, "u1", "U1", 1, False, 0, NOON), "test", "w1") is False
    finally:
        await store.close()


async def test_a_batch_holding_an_answer_another_process_wrote_stores_the_rest_once(postgres_url: str) -> None:
    first, second = [await PostgresStore.open(postgres_url, pool_size=2) for _ in range(2)]
    try:
        record = await first.open_round(RoundRecord(0, CHANNEL, "quiz", "d/a/1", NOON, NOON))
        assert record is not None
        assert await second.record_answer(AnswerRecord(record.id, "u5", "U5", 2, False, 0, NOON), "test", "w1")
        stored = await asyncio.gather(*(first.record_answer(AnswerRecord(record.id, f"u{i}", "U", 0, True, 10, NOON),
                                                            "test", "w1") for i in range(10)))
        assert stored == [i != 5 for i in range(10)]
        answers = await first.answers(record.id)
        assert sorted(a.user_id for a in answers) == [f"u{i}" for i in range(10)]
        assert [a.choice for a in answers if a.user_id == "u5"] == [2]  # the first answer stays
    finally:
        await first.close()
        await second.close()


async def test_two_processes_writing_the_same_people_at_once_store_each_once(postgres_url: str) -> None:
    """Two batches holding the same people in opposite orders: each waits for the other's rows, which
    deadlocked the two statements, failing every press of the losing batch though all were stored."""
    first, second = [await PostgresStore.open(postgres_url, pool_size=2) for _ in range(2)]
    try:
        people = [f"u{i:04d}" for i in range(2_000)]
        for attempt in range(3):  # a round each, in channels of their own
            round_record = await first.open_round(
                RoundRecord(0, Channel("test", "w1", f"c{attempt}"), "quiz", "d/a/1", NOON, NOON))
            assert round_record is not None

            def presses(store: PostgresStore, order: list[str], rid: int = round_record.id) -> list[Any]:
                return [store.record_answer(AnswerRecord(rid, u, "U", 0, True, 10, NOON), "test", "w1") for u in order]

            outcomes = await asyncio.gather(*presses(first, people), *presses(second, people[::-1]),
                                            return_exceptions=True)
            assert not [o for o in outcomes if isinstance(o, BaseException)], attempt
            firsts = outcomes[:len(people)], outcomes[len(people):][::-1]
            assert all(a != b for a, b in zip(*firsts, strict=True))  # each person's answer is new for one
            assert len(await first.answers(round_record.id)) == len(people)
    finally:
        await first.close()
        await second.close()


# The compose deployment


def test_the_compose_deployment_splits_the_shards_over_two_bots_on_one_database(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    folder = Path(__file__).resolve().parents[2] / "deploy" / "postgres"
    compose = yaml.safe_load((folder / "compose.yaml").read_text(encoding="utf-8"))
    bots = [s for name, s in compose["services"].items() if name != "postgres"]
    assert len(bots) == 2 and compose["services"]["postgres"]["image"].startswith("postgres:")
    monkeypatch.setenv("STUDYBOT_DB_PASSWORD", "secret")
    monkeypatch.setenv("STUDYBOT_DISCORD_TOKEN", "token")
    configs = [load_config(folder / s["volumes"][0].split(":")[0].removeprefix("./")) for s in bots]
    shards = [i for c in configs for i in c.discord.shard_ids]
    assert sorted(shards) == list(range(configs[0].discord.shard_count))  # every shard once, over the two
    assert {c.store.url for c in configs} == {"postgresql://studybot@postgres:5432/studybot"}
    for config, bot in zip(configs, bots):
        config.check_secrets()  # the variables the configs name are the ones compose passes in
        assert {key for _, key in config.required_secrets()} <= set(bot["environment"])
