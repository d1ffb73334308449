"""The Discord adapter, offline, through discord.py's own code.

Gateway INTERACTION_CREATE payloads (tests/payloads/discord/) go into
``client._connection.parse_interaction_create``, so the real CommandTree, option
transformers, autocomplete and dynamic items run. Only HTTP is replaced: a recording
webhook adapter answers interaction callbacks and follow-ups, and the client's
``http.request`` answers channel sends and edits, both with message objects shaped like
Discord's. Assertions are on what Discord would have received.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from aiohttp import test_utils as aiohttp_test_utils
from aiohttp import web as aiohttp_web
from discord.http import Route
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.adapters.discord import build_client, sync_commands
from bot.adapters.discord import interactions as discord_interactions
from bot.adapters.discord.client import StudyClient
from bot.adapters.discord.outbox import DiscordOutbox
from bot.adapters.discord.outbox import delivery_failure as discord_delivery_failure
from bot.adapters.discord.render import render
from bot.adapters.discord.views import view_for
from bot.chat import direct_channel
from bot.config import Config, ConfigError, CooldownSection, DiscordSection
from bot.core import buttons
from bot.core.app import APOLOGY, StudyBot
from bot.core.commands import CATALOG, lookup
from bot.core.events import Channel, CommandEvent, User
from bot.core.markup import split_markup
from bot.core.outbox import DeliveryDeferred, DeliveryRefused
from bot.core.replies import Button, Field, Reply
from bot.kb.answer_match import accepted_answers
from bot.store.base import Learner
from bot.store.sqlite import SqliteStore
from tests.clock import FakeClock
from tests.core.fakes import library

PAYLOADS = Path(__file__).parent.parent / "payloads" / "discord"
APP_ID = "1346100000000000000"
GUILD_ID = "1346000000000000001"
CHANNEL_ID = "1346000000000000002"
ADA = {"id": "1346000000000000101", "username": "ada.lovelace", "global_name": "Ada"}
GRACE = {"id": "1346000000000000102", "username": "grace.hopper", "global_name": "Grace"}
BOT_USER = {"id": "1346100000000000000", "username": "studybot", "global_name": "StudyBot", "discriminator": "0",
            "avatar": None, "bot": True, "public_flags": 0}
MANAGE_GUILD = str(discord.Permissions(manage_guild=True).value)
# Discord's documented limits, written out rather than imported, so a wrong constant in the code fails here.
TITLE_LIMIT, DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, MESSAGE_TOTAL_LIMIT = 256, 4096, 1024, 6000
EMBEDS_PER_MESSAGE, LABEL_LIMIT, CUSTOM_ID_LIMIT = 10, 80, 100
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
CONFIG = Config(cooldowns=CooldownSection(ask_seconds=0, quiz_seconds=0))

_snowflakes = itertools.count(discord.utils.time_snowflake(datetime.now(UTC)))


def snowflake() -> str:
    """A fresh id, dated now, as Discord's ids are (interaction expiry is derived from them)."""
    return str(next(_snowflakes) + 1)


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


# Recording Discord's side of HTTP


@dataclass
class Call:
    """One REST request as Discord would receive it."""

    method: str
    path: str
    body: dict[str, Any] | None
    message_id: str | None = None  # the message Discord created or changed for it

    @property
    def data(self) -> dict[str, Any]:
        """The message part: ``data`` of an interaction callback, else the body itself."""
        body = self.body or {}
        return body.get("data") or {} if "type" in body and self.path.endswith("/callback") else body

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.data.get("embeds", [])

    @property
    def text(self) -> str:
        """Everything a person would read: content, titles, descriptions, fields, footers."""
        parts = [self.data.get("content") or ""]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
            parts.append(embed.get("footer", {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for row in self.data.get("components", []) for c in row["components"]]

    @property
    def ephemeral(self) -> bool:
        return bool(self.data.get("flags", 0) & 64)


class DiscordRecorder:
    """Answers REST calls as Discord does and keeps each request, plus the messages it holds."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.originals: dict[str, str] = {}  # interaction token -> id of its original response
        self.forbidden: set[str] = set()  # channels where the bot may not post (Discord answers 403)

    def _message(self, channel_id: str, body: dict[str, Any], message_id: str | None = None,
                 interaction: bool = False) -> dict[str, Any]:
        message = self.messages.get(message_id or "") or {
            "id": message_id or snowflake(), "channel_id": channel_id, "author": BOT_USER, "content": "",
            "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "components": [], "pinned": False, "type": 20 if interaction else 0, "flags": 0,
        }
        if interaction:
            message.update(webhook_id=APP_ID, application_id=APP_ID)
        for key in ("content", "embeds", "components", "flags"):
            if key in body:
                message[key] = body[key]
        if message_id:
            message["edited_timestamp"] = datetime.now(UTC).isoformat()
        self.messages[message["id"]] = message
        return copy.deepcopy(message)

    async def http_request(self, route: Route, *, files: Any = None, form: Any = None, **kwargs: Any) -> Any:
        """Stands in for ``client.http.request`` (channel messages)."""
        call = Call(route.method, route.url.removeprefix(Route.BASE), kwargs.get("json"))
        self.calls.append(call)
        if route.method == "POST" and str(route.channel_id) in self.forbidden:
            raise discord.Forbidden(_Refusal(403, "Forbidden"), {"code": 50013, "message": "Missing Permissions"})
        if route.method == "POST" and route.path == "/channels/{channel_id}/messages":
            message = self._message(str(route.channel_id), call.body or {})
        elif route.method == "PATCH" and route.path == "/channels/{channel_id}/messages/{message_id}":
            message = self._message(str(route.channel_id), call.body or {}, message_id=call.path.rsplit("/", 1)[1])
        else:
            raise AssertionError(f"unexpected REST call {route.method} {route.path}")
        call.message_id = message["id"]
        return message

    def webhook_request(self, route: Route, body: dict[str, Any] | None) -> Any:
        """Interaction callbacks and follow-ups (through the webhook adapter)."""
        call = Call(route.method, route.url.removeprefix(Route.BASE), body)
        self.calls.append(call)
        if call.path.endswith("/callback"):
            assert body is not None
            kind, data = body["type"], body.get("data") or {}
            result: dict[str, Any] = {"interaction": {"id": str(route.webhook_id), "type": 2,
                                                      "response_message_loading": kind == 5,
                                                      "response_message_ephemeral": bool(data.get("flags", 0) & 64)}}
            if kind in (4, 5):
                message = self._message(CHANNEL_ID, data, interaction=True)
                call.message_id = message["id"]
                self.originals[str(route.webhook_token)] = message["id"]
                result["interaction"]["response_message_id"] = message["id"]
                result["resource"] = {"type": kind, "message": message}
            return result
        if route.method == "DELETE":
            return None
        original = self.originals.get(str(route.webhook_token)) if call.path.endswith("/@original") else None
        message = self._message(CHANNEL_ID, body or {}, message_id=original, interaction=True)  # or a follow-up
        call.message_id = message["id"]
        return message

    def since(self, mark: int) -> list[Call]:
        return self.calls[mark:]


@dataclass
class _Refusal:
    """The parts of an HTTP response discord.py's errors read."""

    status: int
    reason: str


class RecordingWebhookAdapter(AsyncWebhookAdapter):
    """discord.py's interaction HTTP path, ending in the recorder instead of the network."""

    def __init__(self, recorder: DiscordRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    async def request(self, route: Route, session: Any, *, payload: dict[str, Any] | None = None,
                      multipart: Any = None, files: Any = None, **kwargs: Any) -> Any:
        assert not multipart and not files, "the adapter sends no files"
        return self.recorder.webhook_request(route, payload)


# A running bot with its Discord client


@dataclass
class Harness:
    bot: StudyBot
    client: StudyClient
    clock: FakeClock
    recorder: DiscordRecorder

    async def dispatch(self, data: dict[str, Any]) -> list[Call]:
        """Delivers one interaction as the gateway would; returns the REST calls it caused."""
        mark = len(self.recorder.calls)
        self.client._connection.parse_interaction_create(data)  # type: ignore[arg-type]
        await settle()
        return self.recorder.since(mark)

    async def command(self, name: str, options: list[dict[str, Any]] | None = None, who: dict[str, str] = ADA,
                      permissions: str = "0", app_permissions: str | None = None,
                      fixture: str = "application_command") -> list[Call]:
        data = interaction(fixture, who, permissions)
        data["data"].update(name=name, options=options or [])
        if app_permissions is not None:
            data["app_permissions"] = app_permissions
        return await self.dispatch(data)

    async def click(self, message: dict[str, Any], custom_id: str, who: dict[str, str]) -> list[Call]:
        data = interaction("message_component", who)
        data["message"] = copy.deepcopy(message)
        data["data"] = {"custom_id": custom_id, "component_type": 2}
        return await self.dispatch(data)

    def message(self, message_id: str) -> dict[str, Any]:
        return copy.deepcopy(self.recorder.messages[message_id])


def interaction(fixture: str, who: dict[str, str], permissions: str = "0") -> dict[str, Any]:
    """A payload from the fixture with a fresh id and token, from ``who``."""
    data = payload(fixture)
    data["id"] = snowflake()
    data["token"] = f"offline-token-{data['id']}"
    data["member"]["user"].update(who)
    data["member"]["permissions"] = permissions
    return data


INTERACTION_TASKS = ("CommandTree-invoker", "discord-ui-dynamic-item", "discord.py: on_interaction")


async def settle() -> None:
    """Waits for the tasks discord.py started for an interaction (command invoker, dynamic items, events)."""
    for _ in range(20):
        tasks = [t for t in asyncio.all_tasks()
                 if not t.done() and t.get_name().startswith(INTERACTION_TASKS)]
        if not tasks:
            return
        await asyncio.gather(*tasks)
    raise AssertionError("interaction tasks kept spawning")


Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Builds StudyBot + Discord client pairs (called inside the test, so the recorder is in its context)."""
    started: list[Harness] = []

    async def _start(path: Path | str = ":memory:", clock: FakeClock | None = None, config: Config = CONFIG,
                     recorder: DiscordRecorder | None = None) -> Harness:
        clock = clock or FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
        bot = StudyBot(library(), await SqliteStore.open(path), config, clock=clock, rng=random.Random(7))
        client = build_client(bot, config)
        await client._async_setup_hook()  # what login() does first: binds the client to this event loop
        client._connection.application_id = int(APP_ID)
        client._connection.user = discord.ClientUser(state=client._connection, data=BOT_USER)  # type: ignore[arg-type]
        recorder = recorder or DiscordRecorder()
        client.http.request = recorder.http_request  # type: ignore[method-assign]
        async_context.set(RecordingWebhookAdapter(recorder))
        await bot.start()
        harness = Harness(bot, client, clock, recorder)
        started.append(harness)
        return harness

    yield _start
    for harness in started:
        await stop(harness)


async def stop(harness: Harness) -> None:
    if not harness.client.is_closed():
        await harness.client.close()
        await harness.bot.store.close()


def callback(calls: list[Call]) -> Call:
    """The interaction callback among ``calls`` (there is exactly one per interaction)."""
    found = [c for c in calls if c.path.endswith("/callback")]
    assert len(found) == 1, calls
    return found[0]


def assert_no_mentions(calls: list[Call]) -> None:
    """Every message sent can ping nobody."""
    for call in calls:
        if call.method in ("POST", "PATCH") and (call.data.get("embeds") or call.data.get("content")):
            assert call.data.get("allowed_mentions") == NO_MENTIONS, call


def option(name: str, value: Any, kind: int = 3) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


# /ask and autocomplete


async def test_confident_answer_is_a_public_embed_with_a_practice_button(start: Start) -> None:
    h = await start()
    calls = await h.command("ask", [option("query", "what is eager execution")])
    reply = callback(calls)
    assert reply.body is not None and reply.body["type"] == 4
    assert not reply.ephemeral
    assert reply.embeds[0]["title"].startswith("What is eager execution")
    assert "Eager execution" in reply.embeds[0]["description"]
    assert buttons.practice_id("tensorflow/eager-execution") in reply.custom_ids
    assert reply.data["allowed_mentions"] == NO_MENTIONS


async def test_unsure_answer_offers_private_suggestion_buttons_that_answer_when_pressed(start: Start) -> None:
    h = await start()
    reply = callback(await h.command("ask", [option("query", "tensor board games")]))
    assert reply.body is not None and reply.body["type"] == 4 and reply.ephemeral
    assert "no confident answer" in reply.text
    assert reply.custom_ids and all(cid.startswith(buttons.ask_id("tensorflow/")) for cid in reply.custom_ids)

    assert reply.message_id is not None
    calls = await h.click(h.message(reply.message_id), reply.custom_ids[0], ADA)
    assert callback(calls).body == {"type": 6}  # acknowledged without a visible "thinking"
    [answer] = [c for c in calls if c.method == "POST" and not c.path.endswith("/callback")]
    assert answer.ephemeral and answer.embeds[0]["title"]
    assert_no_mentions(calls)


async def test_empty_question_gets_a_private_hint(start: Start) -> None:
    h = await start()
    reply = callback(await h.command("ask", [option("query", "   ")]))
    assert reply.body is not None and reply.body["type"] == 4 and reply.ephemeral
    assert "Ask me something" in reply.text


async def test_autocomplete_suggests_questions_and_topics_within_limits(start: Start) -> None:
    h = await start()
    reply = callback(await h.dispatch(interaction("autocomplete", ADA)))
    assert reply.body is not None and reply.body["type"] == 8
    choices = reply.body["data"]["choices"]
    assert choices[0]["value"].startswith("What is eager execution")
    assert 0 < len(choices) <= 25 and all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)

    data = interaction("autocomplete", ADA)
    data["data"].update(name="quiz", options=[{"name": "topic", "type": 3, "value": "ker", "focused": True}])
    topics = callback(await h.dispatch(data)).body
    assert topics is not None and topics["data"]["choices"][0]["value"] == "keras"


# A quiz round, start to reveal


async def test_full_round_with_two_players(start: Start) -> None:
    h = await start()
    calls = await h.command("quiz", [option("seconds", 10, kind=4)], app_permissions=None)
    defer = callback(calls)
    assert defer.body == {"type": 5, "data": {"flags": 64}}
    [question] = [c for c in calls if c.path == f"/channels/{CHANNEL_ID}/messages"]
    assert question.method == "POST" and question.embeds[0]["title"].startswith("Quiz:")
    assert all(isinstance(buttons.parse(cid), buttons.AnswerPress) for cid in question.custom_ids[:-1])
    assert buttons.parse(question.custom_ids[-1]) == buttons.RoundPress("hint", 1)  # the 50/50, last
    assert len(question.custom_ids) >= 2
    [started] = [c for c in calls if c.path.endswith("/messages/@original")]
    assert started.method == "PATCH" and "Quiz started: 1 question, 10 s each" in started.text
    assert_no_mentions(calls)

    message_id = question.message_id
    assert message_id is not None
    pressed = buttons.parse(question.custom_ids[0])
    assert isinstance(pressed, buttons.AnswerPress)
    round_id = pressed.round_id
    card = h.bot.library.card(h.bot.quiz.open[round_id].card_id)
    assert card is not None
    right, wrong = f"answer:{round_id}:{card.correct_index}", f"answer:{round_id}:{(card.correct_index + 1) % 2}"

    for who, choice in ((ADA, right), (GRACE, wrong)):
        calls = await h.click(h.message(message_id), choice, who)
        assert callback(calls).body == {"type": 6}
        [locked] = [c for c in calls if c.method == "POST" and not c.path.endswith("/callback")]
        assert locked.path.startswith(f"/webhooks/{APP_ID}/") and locked.ephemeral
        assert "locked in" in locked.text

    again = await h.click(h.message(message_id), wrong, ADA)
    assert [c.text for c in again if c.ephemeral] == ["You already answered this round; your first answer counts."]

    stale = h.message(message_id)  # as a client that has not seen the edit yet still shows it
    h.clock.advance(seconds=11)
    mark = len(h.recorder.calls)
    await h.bot.tick()
    edit, reveal = h.recorder.since(mark)
    assert (edit.method, edit.path) == ("PATCH", f"/channels/{CHANNEL_ID}/messages/{message_id}")
    assert edit.data["components"] == [] and "closed" in edit.embeds[0]["footer"]["text"]
    assert (reveal.method, reveal.path) == ("POST", f"/channels/{CHANNEL_ID}/messages")
    assert reveal.embeds[0]["title"].startswith("Answer:")
    fields = {f["name"]: f["value"] for f in reveal.embeds[0]["fields"]}
    assert "Ada" in fields["Correct"] and "Grace" not in fields["Correct"]
    assert fields["Answers"] == "2 (1 right)"
    assert_no_mentions([edit, reveal])

    for pressed in (stale, h.message(message_id)):  # with its buttons, and as edited (buttons gone)
        late = await h.click(pressed, right, GRACE)
        assert callback(late).body == {"type": 6}
        assert [c.text for c in late if c.ephemeral] == [
            "This round has closed. Watch the channel for the results, or start one with `quiz`."]

    board = await h.command("leaderboard", [option("period", "today")])
    assert callback(board).body == {"type": 5}  # public "thinking"
    [shown] = [c for c in board if c.path.endswith("/messages/@original")]
    assert shown.embeds[0]["title"] == "Leaderboard: Today" and "1. Ada — 10 pts" in shown.text


async def test_button_from_before_a_restart_is_still_answered(start: Start, tmp_path: Path) -> None:
    database = tmp_path / "studybot.sqlite3"
    first = await start(database)
    calls = await first.command("quiz", [option("seconds", 60, kind=4)])
    [question] = [c for c in calls if c.path == f"/channels/{CHANNEL_ID}/messages"]
    assert question.message_id is not None
    message = first.message(question.message_id)
    await stop(first)  # the process goes away; the round stays open in the database

    second = await start(database, clock=first.clock)
    calls = await second.click(message, question.custom_ids[0], GRACE)
    assert callback(calls).body == {"type": 6}
    assert any("locked in" in c.text and c.ephemeral for c in calls)


async def test_quiz_refused_where_the_bot_cannot_post(start: Start) -> None:
    h = await start()
    calls = await h.command("quiz", app_permissions=str(discord.Permissions(view_channel=True).value))
    reply = callback(calls)
    assert reply.body is not None and reply.body["type"] == 4 and reply.ephemeral
    assert "I need Send Messages, Embed Links" in reply.text
    assert not h.bot.quiz.open


THREAD_ID = "1346000000000000003"
NO_THREAD_POSTS = discord.Permissions(view_channel=True, send_messages=True, embed_links=True)
THREAD_POSTS_ONLY = discord.Permissions(view_channel=True, send_messages_in_threads=True, embed_links=True)


async def test_quiz_in_a_thread_without_send_messages_in_threads_names_that_permission(
        start: Start, caplog: pytest.LogCaptureFixture) -> None:
    """In a thread Discord checks Send Messages in Threads, not Send Messages (it answers 403 here)."""
    h = await start()
    h.recorder.forbidden.add(THREAD_ID)
    with caplog.at_level(logging.WARNING):
        calls = await h.command("quiz", app_permissions=str(NO_THREAD_POSTS.value),
                                fixture="application_command_in_thread")
    reply = callback(calls)
    assert reply.ephemeral and "I need Send Messages in Threads here" in reply.text
    assert not [c for c in calls if c.path == f"/channels/{THREAD_ID}/messages"]
    assert not h.bot.quiz.open and not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_quiz_in_a_thread_needs_no_send_messages(start: Start) -> None:
    h = await start()
    calls = await h.command("quiz", [option("seconds", 60, kind=4)], app_permissions=str(THREAD_POSTS_ONLY.value),
                            fixture="application_command_in_thread")
    assert [c for c in calls if c.path == f"/channels/{THREAD_ID}/messages"]
    assert h.bot.quiz.open


async def test_practice_question_stays_private_and_is_judged_at_once(start: Start) -> None:
    h = await start()
    answer = callback(await h.command("ask", [option("query", "what is eager execution")]))
    assert answer.message_id is not None
    calls = await h.click(h.message(answer.message_id), "practice:tensorflow/eager-execution", GRACE)
    [question] = [c for c in calls if c.method == "POST" and not c.path.endswith("/callback")]
    assert question.ephemeral and question.embeds[0]["title"].startswith("Practice question")
    assert question.message_id is not None
    assert all(isinstance(buttons.parse(cid), buttons.AnswerPress) for cid in question.custom_ids)

    calls = await h.click(h.message(question.message_id), question.custom_ids[0], GRACE)
    [result] = [c for c in calls if c.ephemeral]
    assert result.embeds[0]["title"] == "Practice result"


async def test_slow_ask_says_thinking_in_time_then_answers(start: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the core is slower than DEFER_AFTER, Discord gets a deferral before its 3 s run out."""
    monkeypatch.setattr(discord_interactions, "DEFER_AFTER", 0.0)
    h = await start()
    # A core that cannot finish before Discord has been told "thinking…": slow, without a race.
    deferred = asyncio.Event()
    record, handle = h.recorder.webhook_request, h.bot.handle_command

    def recording(route: Route, body: dict[str, Any] | None) -> Any:
        if body is not None and body.get("type") == 5:
            deferred.set()
        return record(route, body)

    async def slow_core(event: Any) -> list[Reply]:
        await deferred.wait()
        return await handle(event)

    monkeypatch.setattr(h.recorder, "webhook_request", recording)
    monkeypatch.setattr(h.bot, "handle_command", slow_core)
    confident = await h.command("ask", [option("query", "what is eager execution")])
    assert callback(confident).body == {"type": 5}
    [edit] = confident[1:]
    assert edit.method == "PATCH" and edit.path.endswith("/messages/@original")
    assert edit.embeds[0]["title"].startswith("What is eager execution")
    assert edit.data["allowed_mentions"] == NO_MENTIONS

    deferred.clear()
    unsure = await h.command("ask", [option("query", "tensor board games")])
    assert callback(unsure).body == {"type": 5}
    delete, follow_up = unsure[1:]
    assert delete.method == "DELETE" and follow_up.ephemeral and "no confident answer" in follow_up.text


async def test_long_answer_is_sent_as_several_messages_within_limits(start: Start,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    h = await start()
    card = partial(lookup.answer_card, h.bot)
    code = "```python\n" + "\n".join(f"layer_{i} = tf.keras.layers.Dense({i})" for i in range(400)) + "\n```"
    monkeypatch.setattr(lookup, "answer_card",
                        lambda bot, entry: replace(card(entry), body=card(entry).body + "\n\n" + code))
    calls = await h.command("ask", [option("query", "what is eager execution")])
    first = callback(calls)
    assert first.body is not None and first.body["type"] == 4 and not first.ephemeral
    messages = [first, *(c for c in calls if c.method == "POST" and not c.path.endswith("/callback"))]
    assert len(messages) >= 2 and len(messages) == len(calls)
    for message in messages:
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE and not message.ephemeral
        assert sum(len(e.get("title", "")) + len(e.get("description", "")) + len(e.get("footer", {}).get("text", ""))
                   for e in message.embeds) <= MESSAGE_TOTAL_LIMIT
        assert all(len(e.get("description", "")) <= DESCRIPTION_LIMIT for e in message.embeds)
        assert all(e.get("description", "").count("```") % 2 == 0 for e in message.embeds)
    assert [bool(m.custom_ids) for m in messages] == [False] * (len(messages) - 1) + [True]  # buttons at the end
    text = "\n".join(m.text for m in messages)
    assert all(f"layer_{i} = " in text for i in range(400))
    assert_no_mentions(calls)


async def test_every_message_after_a_private_deferral_stays_private(start: Start,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    h = await start()
    long_public = Reply("\n\n".join(f"Paragraph {i}. " + "words " * 400 for i in range(40)), title="Long")

    async def handle_command(event: Any) -> list[Reply]:
        return [long_public]

    monkeypatch.setattr(h.bot, "handle_command", handle_command)
    calls = await h.command("quiz")  # /quiz defers privately
    assert callback(calls).body == {"type": 5, "data": {"flags": 64}}
    follow_ups = [c for c in calls if c.method == "POST" and not c.path.endswith("/callback")]
    assert follow_ups and all(c.ephemeral for c in follow_ups)


async def test_private_answer_after_a_public_deferral_is_never_shown_publicly(start: Start) -> None:
    h = await start()
    calls = await h.command("leaderboard", [option("period", "week"), option("topic", "cooking")])
    assert callback(calls).body == {"type": 5}
    delete, follow_up = calls[1:]
    assert delete.method == "DELETE" and delete.path.endswith("/messages/@original")
    assert follow_up.method == "POST" and follow_up.path.startswith(f"/webhooks/{APP_ID}/") and follow_up.ephemeral
    assert "I don't know the topic `cooking`" in follow_up.text


# Other commands


async def test_daily_set_is_refused_to_members_and_done_for_admins(start: Start) -> None:
    h = await start()
    refused = await h.dispatch(interaction("daily_set", ADA, permissions="0"))
    assert callback(refused).body == {"type": 5, "data": {"flags": 64}}
    assert "Only workspace admins" in refused[-1].text

    done = await h.dispatch(interaction("daily_set", ADA, permissions=MANAGE_GUILD))
    assert done[-1].text.startswith("Scheduled. Daily challenge here at 09:00 Europe/Berlin: 2 questions")
    assert await h.bot.store.schedule_for(Channel("discord", GUILD_ID, CHANNEL_ID))


async def test_stats_for_another_member_names_them(start: Start) -> None:
    h = await start()
    calls = await h.dispatch(interaction("stats_user", ADA))
    assert callback(calls).body == {"type": 5, "data": {"flags": 64}}  # bot.private_stats defaults to true
    assert f"{GRACE['global_name']} has not answered any questions yet" in calls[-1].text


async def test_help_and_topics_answer_privately_at_once(start: Start) -> None:
    h = await start()
    for name, title in (("help", "StudyBot commands"), ("topics", "Topics")):
        reply = callback(await h.command(name))
        assert reply.body is not None and reply.body["type"] == 4 and reply.ephemeral
        assert reply.embeds[0]["title"] == title


# Failures end in a private apology


async def test_rendering_failure_is_logged_and_apologized_for(start: Start, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    h = await start()

    def broken(reply: Reply) -> list[Any]:
        raise ValueError("renderer broke")

    monkeypatch.setattr(discord_interactions, "render", broken)
    with caplog.at_level(logging.ERROR):
        reply = callback(await h.command("ask", [option("query", "what is eager execution")]))
    assert reply.body is not None and reply.body["type"] == 4
    assert reply.data["content"] == APOLOGY and reply.ephemeral and reply.data["allowed_mentions"] == NO_MENTIONS
    assert "renderer broke" in caplog.text


async def test_unknown_command_goes_through_the_tree_error_handler(start: Start) -> None:
    h = await start()
    reply = callback(await h.command("flashcards"))
    assert reply.ephemeral and "This command changed since Discord last saw it" in reply.text


# Rendering within Discord's limits


def test_long_answer_with_code_is_split_within_limits_and_fences_stay_balanced() -> None:
    code = "```python\n" + "\n".join(f"layer_{i} = tf.keras.layers.Dense({i}, activation='relu')" for i in range(250))
    body = "Intro paragraph.\n\n" + code + "\n```\n\n" + "\n\n".join("Closing words. " * 30 for _ in range(20))
    reply = Reply(body, title="T" * 300, footer="deck · topic",
                  fields=tuple(Field(f"f{i}", "v" * 2000) for i in range(3)))
    messages = render(reply)
    assert len(messages) > 1
    descriptions = [e.description or "" for m in messages for e in m.embeds]
    for message in messages:
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in message.embeds) <= MESSAGE_TOTAL_LIMIT
        for embed in message.embeds:
            assert len(embed.title or "") <= TITLE_LIMIT and len(embed.description or "") <= DESCRIPTION_LIMIT
            assert all(len(f.value or "") <= FIELD_VALUE_LIMIT for f in embed.fields)
    assert all(d.count("```") % 2 == 0 for d in descriptions)
    continued = [d for d in descriptions[1:] if d.startswith("```python")]
    assert continued, "a code block split across embeds is reopened with its language"
    joined = "\n".join(descriptions)
    assert all(f"layer_{i} = " in joined for i in range(250))
    assert messages[0].embeds[0].title == "T" * 255 + "…"


def test_a_long_field_with_code_is_cut_with_its_fence_closed() -> None:
    [message] = render(Reply("body", fields=(Field("Code", "```python\n" + "x = 1\n" * 400 + "```"),)))
    value = message.embeds[0].fields[0].value or ""
    assert len(value) <= FIELD_VALUE_LIMIT and value.count("```") == 2 and value.endswith("```\n…")


def test_split_prefers_paragraph_breaks_and_cuts_only_overlong_lines() -> None:
    text = "first paragraph\nstill first\n\nsecond paragraph " + "x" * 50 + "\n\n" + "y " * 200
    pieces = split_markup(text, 60)
    assert pieces[0] == "first paragraph\nstill first"
    assert all(len(p) <= 60 for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


async def test_buttons_are_fitted_to_discord_limits() -> None:
    buttons = tuple(Button(f"ask:tensorflow/entry-{i}", "A long label " * 10) for i in range(30))
    [message] = render(Reply("choose", buttons=buttons))
    assert len(message.buttons) == 25 and all(len(b.label) <= LABEL_LIMIT for b in message.buttons)
    [few] = render(Reply("choose", buttons=(Button("ask:" + "x" * CUSTOM_ID_LIMIT, "too long an id"),
                                            Button("ask:tensorflow/gans", "GANs"))))
    assert [b.id for b in few.buttons] == ["ask:tensorflow/gans"]  # Discord would refuse the whole message
    view = view_for(message.buttons)
    assert view is not None
    rows = [c["components"] for c in view.to_components()]
    assert len(rows) == 5 and all(len(row) == 5 for row in rows)


# Client set-up and command registration


async def test_sharded_client_without_privileged_intents() -> None:
    bot = StudyBot(library(), await SqliteStore.open(":memory:"), CONFIG)
    config = Config(discord=DiscordSection(sharded=True, shard_count=2))
    try:
        async with build_client(bot, config) as client:
            assert isinstance(client, discord.AutoShardedClient) and client.shard_count == 2
            assert not client.intents.message_content and not client.intents.members
            assert client.allowed_mentions is not None and client.allowed_mentions.to_dict() == NO_MENTIONS
            assert "discord" in bot.outboxes
    finally:
        await bot.store.close()


class _GatewaySocket:
    """Keeps what discord.py sends over the gateway."""

    closed = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_str(self, data: str) -> None:
        self.sent.append(json.loads(data))


async def test_gateway_identify_asks_only_for_the_guilds_intent() -> None:
    """The bot reads nothing from the gateway but servers and channels; every other intent is traffic it drops."""
    bot = StudyBot(library(), await SqliteStore.open(":memory:"), CONFIG)
    try:
        async with build_client(bot, CONFIG) as client:
            socket = _GatewaySocket()
            ws = discord.gateway.DiscordWebSocket(socket, loop=asyncio.get_running_loop())  # type: ignore[arg-type]
            # The attributes DiscordWebSocket.from_client sets before it identifies.
            ws.token, ws._connection, ws.call_hooks = "offline.test.token", client._connection, \
                client._connection.call_hooks
            ws._initial_identify, ws.shard_id, ws.shard_count = True, None, None
            await ws.identify()
        [identify] = socket.sent
        assert identify["op"] == 2 and identify["d"]["intents"] == discord.Intents(guilds=True).value
    finally:
        await bot.store.close()


def test_starting_warns_nothing_about_voice_support() -> None:
    """discord.py warns once per process that PyNaCl and davey (voice) are missing; the bot has no voice."""
    code = ("import logging; logging.basicConfig(); from bot.adapters.discord.client import make_client; "
            "from bot.config import Config; make_client(None, Config()); "
            "logging.getLogger('discord.client').warning('the client warns as before')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0 and "the client warns as before" in run.stderr  # other warnings still show
    assert "voice" not in run.stderr, run.stderr


async def test_sync_registers_the_commands_in_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, Any]] = []

    async def fake_request(self: discord.http.HTTPClient, route: Route, **kwargs: Any) -> Any:
        sent.append((route.method, route.url.removeprefix(Route.BASE), kwargs.get("json")))
        if route.path == "/users/@me":
            return BOT_USER
        if route.path == "/oauth2/applications/@me":
            return {"id": APP_ID, "name": "StudyBot", "icon": None, "description": "", "bot_public": True,
                    "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                    "owner": {**ADA, "discriminator": "0", "avatar": None}, "team": None}
        if route.method == "PUT":
            return [{**c, "id": snowflake(), "application_id": APP_ID, "version": snowflake()}
                    for c in kwargs["json"]]
        raise AssertionError(route.path)

    monkeypatch.setattr(discord.http.HTTPClient, "request", fake_request)
    monkeypatch.setenv("STUDYBOT_DISCORD_TOKEN", "offline.test.token")
    count = await sync_commands(CONFIG, int(GUILD_ID))
    put = next(body for method, path, body in sent if method == "PUT")
    assert next(path for method, path, _ in sent if method == "PUT") == \
        f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
    # One Discord command per catalog command, the original seven among them.
    assert count == len(CATALOG.commands) and {c["name"] for c in put} == {c.name for c in CATALOG.commands}
    assert {"ask", "quiz", "leaderboard", "stats", "topics", "daily", "help"} <= {c["name"] for c in put}
    daily = next(c for c in put if c["name"] == "daily")
    assert str(daily["default_member_permissions"]) == MANAGE_GUILD
    assert {o["name"] for o in daily["options"]} == {"set", "show", "off"}


async def test_sync_without_a_token_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDYBOT_DISCORD_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="discord.token_env.*STUDYBOT_DISCORD_TOKEN"):
        await sync_commands(CONFIG, None)


# Delivery through discord.py's own HTTP client, against a loopback stand-in for the REST API


@dataclass
class RestCall:
    method: str
    path: str
    body: dict[str, Any]
    status: int  # 0: the connection was dropped without an answer


class FakeDiscordRest:
    """Discord's REST API on loopback: answers sends and edits, failing first as ``failures`` says
    (per HTTP method: a status to answer with, or 0 to drop the connection)."""

    def __init__(self) -> None:
        self.calls: list[RestCall] = []
        self.failures: dict[str, list[int]] = {}
        self.recorder = DiscordRecorder()  # builds message objects shaped like Discord's
        app = aiohttp_web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_route("*", "/api/v10/channels/{channel}/messages", self._message)
        app.router.add_route("*", "/api/v10/channels/{channel}/messages/{message}", self._message)
        self.server = aiohttp_test_utils.TestServer(app, host="127.0.0.1")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/api/v10"

    @staticmethod
    def _json(data: Any, status: int = 200) -> aiohttp_web.Response:
        # discord.py parses a body as JSON only when the Content-Type is exactly application/json.
        return aiohttp_web.Response(body=json.dumps(data).encode(), status=status,
                                    headers={"Content-Type": "application/json"})

    async def _me(self, request: aiohttp_web.Request) -> aiohttp_web.Response:
        return self._json(BOT_USER)

    async def _message(self, request: aiohttp_web.Request) -> aiohttp_web.Response:
        body = await request.json()
        queued = self.failures.get(request.method)
        status = queued.pop(0) if queued else 200
        self.calls.append(RestCall(request.method, request.path, body, status))
        if status == 0:
            assert request.transport is not None
            request.transport.close()  # the client sees the server disconnect mid-request
            return aiohttp_web.Response(status=500)
        if status != 200:
            return self._json({"message": "Service Unavailable", "code": 0}, status=status)
        message = self.recorder._message(request.match_info["channel"], body, request.match_info.get("message"))
        return self._json(message)


async def test_a_reveal_discord_fails_with_503_or_a_dropped_connection_arrives_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py retries 500/502/504 itself, but not 503 or a dropped connection: the outbox does."""
    fake = FakeDiscordRest()
    await fake.server.start_server()
    monkeypatch.setattr(Route, "BASE", fake.base)
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    bot = StudyBot(library(), await SqliteStore.open(":memory:"), CONFIG, clock=clock, rng=random.Random(7))
    client = build_client(bot, CONFIG)
    try:
        await client._async_setup_hook()
        await client.http.static_login("offline-token")
        # A long rate limit comes back to the outbox (RateLimited) instead of being slept through.
        assert client.http.max_ratelimit_timeout == 30.0
        await bot.start()
        channel = Channel("discord", GUILD_ID, CHANNEL_ID)
        ada = User("discord", GUILD_ID, ADA["id"], "Ada")
        [ack] = await bot.handle_command(CommandEvent(ada, channel, "quiz", {"seconds": "10"}))
        assert "Quiz started" in ack.body
        [question] = fake.calls
        fake.failures = {"PATCH": [503], "POST": [503, 0]}
        clock.advance(seconds=11)
        for _ in range(8):
            await bot.tick()
            clock.advance(seconds=5)
        edits = [c for c in fake.calls if c.method == "PATCH"]
        reveals = [c for c in fake.calls[1:] if c.method == "POST"]
        assert [c.status for c in edits] == [503, 200]
        question_id = fake.recorder.messages and next(iter(fake.recorder.messages))
        assert edits[-1].path.endswith(f"/messages/{question_id}") and question.method == "POST"
        assert [c.status for c in reveals] == [503, 0, 200]
        assert "Answer:" in json.dumps(reveals[-1].body) and fake.calls.index(edits[-1]) < fake.calls.index(reveals[-1])
        assert await bot.store.pending_messages() == []
    finally:
        await client.close()
        await bot.store.close()
        await fake.server.close()


class _Response:
    """Just what discord.HTTPException reads from an aiohttp response."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status, self.reason, self.headers = status, "reason", headers or {}


@pytest.mark.parametrize(("exc", "verdict", "retry_after"), [
    (discord.RateLimited(12.5), DeliveryDeferred, 12.5),
    (discord.HTTPException(_Response(429, {"Retry-After": "7"}), "cloudflare"), DeliveryDeferred, 7.0),
    (discord.DiscordServerError(_Response(503), "unavailable"), DeliveryDeferred, None),
    (discord.DiscordServerError(_Response(502), "bad gateway"), DeliveryDeferred, None),
    (aiohttp.ServerDisconnectedError(), DeliveryDeferred, None),
    (ConnectionResetError(104, "reset"), DeliveryDeferred, None),
    (TimeoutError(), DeliveryDeferred, None),
    (discord.Forbidden(_Response(403), {"message": "Missing Access", "code": 50001}), DeliveryRefused, None),
    (discord.NotFound(_Response(404), {"message": "Unknown Channel", "code": 10003}), DeliveryRefused, None),
    (discord.HTTPException(_Response(400), {"message": "Invalid Form Body", "code": 50035}), DeliveryRefused, None),
])
def test_discord_failures_are_sorted_into_retry_or_give_up(exc: BaseException, verdict: type, retry_after: float | None
                                                            ) -> None:
    failure = discord_delivery_failure(exc)
    assert isinstance(failure, verdict)
    if isinstance(failure, DeliveryDeferred):
        assert failure.retry_after == retry_after
    assert discord_delivery_failure(ValueError("a bug")) is None  # not the platform's verdict: the core decides


# Games (#13): stop, typed answers through a modal, hints


async def test_quiz_stop_from_another_member_is_refused_privately_and_the_starter_stops_it(start: Start) -> None:
    h = await start()
    await h.command("quiz", [option("questions", 3, kind=4)])
    refused = await h.command("quiz", [option("control", "stop")], who=GRACE)
    assert callback(refused).body == {"type": 5, "data": {"flags": 64}}  # private
    assert [c.text for c in refused if c.text] == [
        "Only Ada, who started this quiz, or an admin can stop it. Ask Ada or an admin."]
    stopped = await h.command("quiz", [option("control", "stop")])
    posts = [c for c in stopped if c.path == f"/channels/{CHANNEL_ID}/messages" and c.method == "POST"]
    assert [p.embeds[0]["title"].split(":")[0] for p in posts] == ["Answer", "Quiz results"]
    assert "Stopped by Ada after 1 question" in posts[1].text and not h.bot.quiz.open


async def test_a_typed_answer_opens_a_modal_and_its_submission_is_judged(start: Start,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    h = await start()
    card = h.bot.library.card("tensorflow/constant-vs-variable/q1")
    monkeypatch.setattr(h.bot.quiz, "pick_card", lambda topic, exclude=frozenset(), typed=False: card)
    calls = await h.command("quiz", [option("seconds", 30, kind=4), option("mode", "typed")])
    [question] = [c for c in calls if c.path == f"/channels/{CHANNEL_ID}/messages"]
    assert [buttons.parse(cid) for cid in question.custom_ids] == [buttons.RoundPress("type", 1),
                                                                   buttons.RoundPress("hint", 1)]
    assert question.message_id is not None
    opened = await h.click(h.message(question.message_id), buttons.type_id(1), ADA)
    modal = callback(opened).body
    assert modal is not None and modal["type"] == 9  # MODAL: the response is the modal itself
    assert modal["data"]["custom_id"] == buttons.typed_answer_id(1)
    [[field]] = [row["components"] for row in modal["data"]["components"]]
    assert field["type"] == 4 and field["custom_id"] == "answer" and field["label"] == "Your answer"

    hint = await h.click(h.message(question.message_id), buttons.hint_id(1), ADA)
    assert [c.text for c in hint if c.ephemeral] == [
        "Hint 1 of 3: `t·.········`. A right answer now earns 75% of the points. Press **Hint** again for more."]

    for who, text in ((ADA, "tf.Varaible"), (GRACE, "tf.constant"), (ADA, "tf.Variable")):
        data = interaction("message_component", who)
        data["type"] = 5  # MODAL_SUBMIT
        data["message"] = h.message(question.message_id)
        data["data"] = {"custom_id": buttons.typed_answer_id(1), "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": text}]}]}
        submitted = await h.dispatch(data)
        assert callback(submitted).body == {"type": 5, "data": {"flags": 64}}
        [answer] = [c for c in submitted if c.path.endswith("/messages/@original")]
        if (who, text) == (ADA, "tf.Variable"):
            assert answer.text == "You already answered this round; your first answer counts."
        else:
            assert answer.text == f"Answer “{text}” locked in. Results when the round closes."
    h.clock.advance(seconds=31)
    mark = len(h.recorder.calls)
    await h.bot.tick()
    _, reveal = h.recorder.since(mark)
    fields = {f["name"]: f["value"] for f in reveal.embeds[0]["fields"]}
    assert fields["Correct"] == "Ada (+8)" and fields["Accepted answers"] == "`tf.Variable`"  # 10 less a 25% hint


def modal_submit(h: Harness, message: dict[str, Any], custom_id: str, text: str, who: dict[str, str]) -> dict[str, Any]:
    """A MODAL_SUBMIT interaction (type 5) of the typed-answer modal, as the gateway delivers it."""
    data = interaction("message_component", who)
    data["type"] = 5
    data["message"] = message
    data["data"] = {"custom_id": custom_id, "components": [
        {"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": text}]}]}
    return data


async def test_a_typed_daily_challenge_is_answered_through_a_modal(start: Start) -> None:
    h = await start()
    daily = interaction("daily_set", ADA, permissions=MANAGE_GUILD)
    daily["data"]["options"][0]["options"] = [option("time", "12:05"), option("timezone", "UTC"),
                                              option("mode", "typed")]
    done = await h.dispatch(daily)
    assert done[-1].text.startswith("Scheduled. Daily challenge here at 12:05 UTC: 1 question, answered by typing.")
    h.clock.advance(minutes=6)  # the clock starts at 12:00 UTC
    mark = len(h.recorder.calls)
    await h.bot.tick()
    intro, question = [c for c in h.recorder.since(mark) if c.method == "POST"]
    assert intro.embeds[0]["title"] == "Daily challenge" and question.embeds[0]["title"].startswith("Daily challenge:")
    [answer_id, hint_id] = question.custom_ids
    pressed = buttons.parse(answer_id)
    assert isinstance(pressed, buttons.RoundPress) and pressed.kind == "type"
    assert buttons.parse(hint_id) == buttons.RoundPress("hint", pressed.round_id)
    record = h.bot.quiz.open[pressed.round_id]
    card = h.bot.library.card(record.card_id)
    assert card is not None and record.typed
    right = accepted_answers(card)[0]
    assert question.message_id is not None

    opened = await h.click(h.message(question.message_id), answer_id, GRACE)
    modal = callback(opened).body
    assert modal is not None and modal["type"] == 9 and modal["data"]["custom_id"] == buttons.typed_answer_id(
        pressed.round_id)
    for who, text in ((GRACE, right), (ADA, "certainly not this")):
        submitted = await h.dispatch(modal_submit(h, h.message(question.message_id), modal["data"]["custom_id"],
                                                  text, who))
        assert callback(submitted).body == {"type": 5, "data": {"flags": 64}}  # private
        [verdict] = [c for c in submitted if c.path.endswith("/messages/@original")]
        assert verdict.text == f"Answer “{text}” locked in. Results when the round closes."
    assert_no_mentions(h.recorder.calls)

    h.clock.advance(hours=12)  # [daily] open_hours
    mark = len(h.recorder.calls)
    await h.bot.tick()
    edit, reveal, results = [c for c in h.recorder.since(mark) if c.method in ("POST", "PATCH")]
    assert edit.method == "PATCH" and edit.custom_ids == []  # the question closed: no buttons left
    fields = {f["name"]: f["value"] for f in reveal.embeds[0]["fields"]}
    assert fields["Correct"] == "Grace (+10)" and f"`{right}`" in fields["Accepted answers"]
    assert results.embeds[0]["title"] == "Daily challenge results for Monday 02 March" and "Grace" in results.text


# Spaced repetition


async def test_review_session_is_private_and_its_buttons_work_after_a_restart(start: Start, tmp_path: Path) -> None:
    database = tmp_path / "studybot.sqlite3"
    h = await start(database)
    added = await h.command("review", [{"name": "add", "type": 1, "options": [option("what", "keras")]}])
    assert callback(added).body == {"type": 5, "data": {"flags": 64}}  # private "thinking", then the answer
    assert "Added 21 new cards" in added[-1].text
    calls = await h.command("review", [{"name": "start", "type": 1, "options": []}])
    assert callback(calls).body == {"type": 5, "data": {"flags": 64}}  # private "thinking"
    [card] = [c for c in calls if c.embeds]
    assert card.embeds[0]["title"].startswith("Review:")  # in the private deferred response
    picks = [cid for cid in card.custom_ids if (p := buttons.parse(cid)) and isinstance(p, buttons.ReviewPress)
             and p.action.startswith("pick")]
    assert card.message_id is not None and picks
    answered = await h.click(h.message(card.message_id), picks[0], ADA)
    [back] = [c for c in answered if c.ephemeral and c.embeds]
    assert "How well did you know it?" in back.text
    rate_good = next(cid for cid in back.custom_ids if cid.startswith("v1:review:rate3:"))
    assert back.message_id is not None
    message = h.message(back.message_id)
    await stop(h)

    again = await start(database, clock=h.clock)  # a new process: the button still rates the card
    rated = await again.click(message, rate_good, ADA)
    texts = [c.text for c in rated if c.ephemeral]
    assert any(t.startswith("Good. Next review of this card in 10 min") for t in texts)
    assert any("Review:" in t for t in texts)  # and the next card follows
    [entry] = await again.bot.store.review_log(Learner("discord", GUILD_ID, ADA["id"]))
    assert entry.rating == 3 and entry.source == "review"


def labels(call: Call) -> list[str]:
    return [c["label"] for row in call.data.get("components", []) for c in row["components"]]


def private_card(h: Harness, calls: list[Call]) -> Call:
    """The one message with an embed among ``calls``, which must be shown to the presser only (as Discord
    holds it: an edit of a deferred response keeps the deferral's ephemeral flag)."""
    [card] = [c for c in calls if c.embeds]
    assert card.message_id is not None and h.recorder.messages[card.message_id]["flags"] & 64, card
    return card


async def test_flip_to_flashcard_then_show_answer_then_a_grade_stay_private(start: Start) -> None:
    h = await start()
    await h.command("review", [{"name": "add", "type": 1, "options": [option("what", "keras")]}])
    card = private_card(h, await h.command("review", [{"name": "start", "type": 1, "options": []}]))
    [flip] = [cid for cid, label in zip(card.custom_ids, labels(card), strict=True) if label == "Flip to flashcard"]
    assert card.message_id is not None
    flipped = await h.click(h.message(card.message_id), flip, ADA)
    assert callback(flipped).body == {"type": 6}
    front = private_card(h, flipped)
    assert labels(front) == ["Show answer", "Stop"] and front.embeds[0]["title"].startswith("Review:")
    assert front.message_id is not None
    shown = await h.click(h.message(front.message_id), front.custom_ids[0], ADA)
    back = private_card(h, shown)
    assert "How well did you know it?" in back.text and "Suggested" not in back.text
    assert [label.split(" · ")[0] for label in labels(back)] == ["Again", "Hard", "Good", "Easy"]
    assert back.message_id is not None
    graded = await h.click(h.message(back.message_id), back.custom_ids[3], ADA)  # Easy
    rated, following = [c for c in graded if c.text]
    assert rated.ephemeral and following.ephemeral
    assert rated.text.startswith("Easy. Next review of this card in")
    assert labels(following) == ["Show answer", "Stop"]  # the next card is a flashcard too
    [entry] = await h.bot.store.review_log(Learner("discord", GUILD_ID, ADA["id"]))
    assert entry.rating == 4 and entry.source == "review"
    assert not [c for c in h.recorder.calls if c.path.startswith("/channels/")]  # nothing in the channel
    assert_no_mentions(h.recorder.calls)


async def test_review_flashcards_is_private_and_grades_through_discord(start: Start) -> None:
    h = await start()
    await h.command("review", [{"name": "add", "type": 1, "options": [option("what", "keras")]}])
    calls = await h.command("review", [{"name": "flashcards", "type": 1, "options": []}])
    assert callback(calls).body == {"type": 5, "data": {"flags": 64}}  # private "thinking"
    card = private_card(h, calls)
    assert labels(card) == ["Show answer", "Stop"] and card.message_id is not None
    back = private_card(h, await h.click(h.message(card.message_id), card.custom_ids[0], ADA))
    assert back.message_id is not None
    graded = await h.click(h.message(back.message_id), back.custom_ids[1], ADA)  # Hard
    rated, following = [c for c in graded if c.text]
    assert rated.ephemeral and following.ephemeral and rated.text.startswith("Hard. Next review of this card in")
    [entry] = await h.bot.store.review_log(Learner("discord", GUILD_ID, ADA["id"]))
    assert entry.rating == 2


async def test_a_review_reminder_is_sent_as_a_direct_message(start: Start) -> None:
    h = await start()
    outbox = DiscordOutbox(h.client)
    dm_calls: list[tuple[str, str]] = []

    async def create_dm(user: Any) -> Any:
        dm_calls.append(("create_dm", str(user.id)))
        return h.client.get_partial_messageable(int(CHANNEL_ID))  # stands in for the user's DM channel

    h.client.create_dm = create_dm  # type: ignore[method-assign]
    sent = await outbox.post(direct_channel("discord", GUILD_ID, ADA["id"]), Reply("Time to review"))
    assert dm_calls == [("create_dm", ADA["id"])] and sent is not None
    assert h.recorder.calls[-1].method == "POST" and "Time to review" in h.recorder.calls[-1].text
