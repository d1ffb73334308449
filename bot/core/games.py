"""Games people steer: a `quiz` is a game of one or more rounds that its starter (or an admin)
may stop or skip, that may end at a target score, and whose results list its standings.

Every state change here happens inside a store unit of work with the messages it causes
(the reveal of the open question, the next question, the results), claimed in the store, so
a stop racing the timer, a skip racing it, or two stops at once, reveal each question once and
post the results once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.events import Channel, CommandEvent
from bot.core.replies import Reply, neutralize, plural, reply_to_json
from bot.core.standings import board_lines, ranked
from bot.kb.model import QuizCard
from bot.store.base import Game, Outgoing, RoundRecord, StoreUnit

if TYPE_CHECKING:
    from bot.core.app import StudyBot


class _ChannelBusy(Exception):
    """Raised inside a unit of work to undo a game whose first round could not open."""


async def start_game(bot: StudyBot, event: CommandEvent, card: QuizCard, seconds: int, questions: int,
                     topic: str | None, target: int | None, typed: bool, hints: bool) -> RoundRecord | None:
    """Stores a game and opens its first round with its question queued, in one transaction;
    None if the channel already has a quiz running (then nothing is stored)."""
    game = Game(0, event.channel, event.user.user_id, event.user.display_name, questions, target, typed, hints,
                bot.clock.now())
    try:
        async with bot.store.unit() as unit:
            stored = await unit.start_game(game)
            record = await bot.quiz.start(unit, bot.quiz.new_round(
                event.channel, "quiz", card, seconds, questions - 1, topic, game_id=stored.id, typed=typed),
                hints=hints)
            if record is None:
                raise _ChannelBusy
    except _ChannelBusy:
        return None
    bot.quiz.arm(record)
    bot.delivery.wake()
    return record


async def after_close(bot: StudyBot, unit: StoreUnit, record: RoundRecord, next_question: bool) -> RoundRecord | None:
    """Within the unit that closed ``record``: the game's next round, or its end (a target reached,
    its last question) with the results queued. Returns the round to arm, if one opened."""
    assert record.game_id is not None
    game = await unit.game(record.game_id)
    if game is None or game.ended_at is not None:
        return None  # stopped meanwhile: the stop posted the results
    rows = ranked(await unit.game_scores(game.id))
    now = bot.clock.now()
    if game.target is not None and rows and rows[0].points >= game.target:
        await unit.end_game(game.id, now, None, "target")
        await _queue_results(unit, game, await unit.game_rounds(game.id), now, "target")
        return None
    if next_question and record.remaining > 0:
        card = bot.quiz.pick_card(record.topic, exclude={record.card_id}, typed=game.typed)
        if card is not None:
            return await bot.quiz.start(unit, bot.quiz.new_round(
                record.channel, "quiz", card, record.seconds, record.remaining - 1, record.topic,
                game_id=game.id, typed=game.typed), hints=game.hints)
    await unit.end_game(game.id, now, None, "finished")
    if game.questions > 1 or game.target is not None:  # one question's reveal is its own result
        await _queue_results(unit, game, await unit.game_rounds(game.id), now, "finished")
    return None


async def _queue_results(unit: StoreUnit, game: Game, rounds: int, at: object, reason: str,
                         stopped_by: str | None = None) -> None:
    rows = ranked(await unit.game_scores(game.id))
    lines = board_lines(rows) or ["Nobody scored."]
    if reason == "target" and rows:
        headline = f"🏆 **{neutralize(rows[0].display_name)}** wins: first to {game.target} points!"
    elif reason == "stopped":
        headline = f"Stopped by {neutralize(stopped_by or 'an admin')} after {plural(rounds, 'question')}."
    elif rows and rows[0].points > 0:
        headline = f"🏆 **{neutralize(rows[0].display_name)}** wins after {plural(rounds, 'question')}."
    else:
        headline = f"Game over after {plural(rounds, 'question')}."
    reply = Reply("\n".join([headline, "", *lines]), title="Quiz results",
                  footer="All-time standings: `leaderboard all`")
    await unit.enqueue([Outgoing(game.channel, "post", "game-results", reply_to_json(reply))], at)  # type: ignore[arg-type]


def _running(bot: StudyBot, channel: Channel) -> RoundRecord | None:
    """The channel's open quiz round that belongs to a game, if any."""
    return next((r for r in bot.quiz.open.values()
                 if r.kind == "quiz" and r.channel == channel and r.game_id is not None), None)


async def _permitted(bot: StudyBot, event: CommandEvent, record: RoundRecord, verb: str) -> tuple[Game | None,
                                                                                                  Reply | None]:
    assert record.game_id is not None
    game = await bot.store.game(record.game_id)
    if game is None:
        return None, Reply("That quiz is no longer in my records.", ephemeral=True)
    if event.user.user_id != game.started_by and not event.user.is_admin:
        return game, Reply(f"Only {neutralize(game.started_by_name)}, who started this quiz, or an admin can {verb} "
                           f"it. Ask {neutralize(game.started_by_name)} or an admin.", ephemeral=True)
    return game, None


async def stop(bot: StudyBot, event: CommandEvent) -> list[Reply]:
    """``quiz stop``: reveals the open question, ends the game and posts its results, in one unit."""
    record = _running(bot, event.channel)
    if record is None:
        return [Reply("No quiz is running in this channel. Start one with `quiz`.", ephemeral=True)]
    game, refusal = await _permitted(bot, event, record, "stop")
    if refusal is not None or game is None:
        return [refusal or Reply("No quiz is running in this channel.", ephemeral=True)]
    outbox = bot.outboxes.get(event.channel.platform)
    edits = outbox is not None and outbox.capabilities.edits
    now = bot.clock.now()
    closed: RoundRecord | None = None
    async with bot.store.unit() as unit:
        # The round first, then the game: the order the timer's close takes them in (no deadlock on a
        # database with row locks). The store's view: the timer may have moved on to the next question.
        current = await unit.game_open_round(game.id)
        if not await unit.end_game(game.id, now, event.user.user_id, "stopped"):
            return [Reply("This quiz has already ended.", ephemeral=True)]
        if current is None:
            # The timer may have closed the question we waited on and opened the next one while we
            # waited: each statement sees what is committed when it starts (PostgreSQL), so look again.
            # This look holds the new question's row, so no timer moves past it before the end commits.
            current = await unit.game_open_round(game.id)
        if current is not None and await bot.quiz.close(unit, current, edits):
            closed = current
        await _queue_results(unit, game, await unit.game_rounds(game.id), now, "stopped", event.user.display_name)
    if closed is not None:
        bot.quiz.disarm(closed.id)
    bot.quiz.disarm(record.id)
    await bot.delivery.deliver_channel(event.channel)  # the channel sees them before the stopper's ack
    return [Reply("Quiz stopped: the answer and the results are posted.", ephemeral=True)]


async def skip(bot: StudyBot, event: CommandEvent) -> list[Reply]:
    """``quiz skip``: reveals the open question now and moves on (as if its time were up)."""
    record = _running(bot, event.channel)
    if record is None:
        return [Reply("No quiz is running in this channel. Start one with `quiz`.", ephemeral=True)]
    _, refusal = await _permitted(bot, event, record, "skip")
    if refusal is not None:
        return [refusal]
    if not await bot._close(record):
        return [Reply("That question had just closed; its answer is on its way.", ephemeral=True)]
    await bot.delivery.deliver_channel(event.channel)
    more = "the next question follows" if record.remaining > 0 else "that was the last question"
    return [Reply(f"Skipped: the answer is revealed and {more}.", ephemeral=True)]
