"""The console behaves like a chat (issue #12): numbers and letters answer the open round, help names
the console's own commands, end of input reveals every open round, readline on a terminal, admins
from the config. In process, with a StringIO for the terminal."""

from __future__ import annotations

import builtins
import io
import random
import sys
from datetime import UTC, datetime

import pytest

from bot.adapters import console as console_module
from bot.adapters.console import CHANNEL, ConsoleAdapter
from bot.config import Config, ConsoleSection
from bot.core import buttons
from bot.core.app import StudyBot
from bot.core.rounds import LETTERS
from bot.store.sqlite import SqliteStore
from tests.clock import FakeClock
from tests.core import fakes


async def console(config: Config | None = None) -> tuple[ConsoleAdapter, io.StringIO]:
    store = await SqliteStore.open(":memory:")
    fakes.OPEN_STORES.append(store)
    bot = StudyBot(fakes.library(), store, config or Config(), clock=FakeClock(datetime(2026, 3, 2, 12, tzinfo=UTC)),
                   rng=random.Random(3))
    await bot.start()
    out = io.StringIO()
    return ConsoleAdapter(bot, out=out), out


def open_round(adapter: ConsoleAdapter) -> tuple[int, int]:
    """(round id, correct choice) of the one round open at the console."""
    [record] = [r for r in adapter.bot.quiz.open.values() if r.channel == CHANNEL]
    card = adapter.bot.library.card(record.card_id)
    assert card is not None
    return record.id, card.correct_index


async def test_a_number_answers_the_open_round_even_after_an_ask_printed_other_buttons() -> None:
    adapter, out = await console()
    await adapter.handle_line("/quiz seconds 600")
    await adapter.handle_line("/ask what is eager execution")  # an answer card with its own buttons
    await adapter.handle_line("2")
    round_id, _ = open_round(adapter)
    [answer] = await adapter.bot.store.answers(round_id)
    assert answer.choice == 1
    assert "Answer B locked in." in out.getvalue()


async def test_without_an_open_round_a_number_presses_the_latest_prompts_buttons() -> None:
    adapter, out = await console()
    await adapter.handle_line("/ask how do I handle overfitting")
    await adapter.handle_line(str(len(adapter.buttons)))  # "Quiz me on this", the last button
    assert "Practice question:" in out.getvalue()


async def test_a_letter_answers_the_open_round_and_is_never_looked_up() -> None:
    adapter, out = await console()
    await adapter.handle_line("B")
    assert "There is no open round to answer with B. Start one with /quiz." in out.getvalue()
    assert await adapter.bot.store.gaps(10) == []
    await adapter.handle_line("/quiz seconds 600")
    await adapter.handle_line("c")
    round_id, _ = open_round(adapter)
    [answer] = await adapter.bot.store.answers(round_id)
    assert answer.choice == LETTERS.index("C")


async def test_help_lists_the_consoles_own_commands() -> None:
    adapter, out = await console()
    await adapter.handle_line("/help")
    text = out.getvalue()
    assert "StudyBot commands" in text
    assert "`/as NAME` — switch to another user" in text and "`/quit` — leave" in text


async def test_quit_or_end_of_input_reveals_every_open_round_including_practice() -> None:
    adapter, out = await console()
    await adapter.handle_line("/ask how do I handle overfitting")
    await adapter.handle_line(str(len(adapter.buttons)))  # a practice question, unanswered
    [practice] = adapter.bot.quiz.open.values()
    card = adapter.bot.library.card(practice.card_id)
    assert card is not None
    text = out.getvalue()
    # Not "600 s · one answer each": a practice question is the asker's alone and judged at once.
    assert "· just for you: your answer is judged at once)" in text and "600 s" not in text
    await adapter.handle_line("/quiz seconds 600")
    await adapter.run(io.StringIO("/quit\n"))
    text = out.getvalue()
    assert f"Practice answer: {card.prompt}" in text
    assert f"{LETTERS[card.correct_index]}. {card.choices[card.correct_index].text}" in text
    assert "\nAnswer: " in text  # the quiz round's reveal
    assert adapter.bot.quiz.open == {}


async def test_readline_reads_a_terminal_with_history(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdin", terminal)
    typed = iter(["/help"])

    def fake_input() -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)
    read = console_module._terminal_reader(terminal)
    assert read is not None
    assert "readline" in sys.modules  # imported: input() now edits lines and keeps history
    assert [read(), read()] == [b"/help\n", b""]
    assert console_module._terminal_reader(io.StringIO("x\n")) is None  # a pipe is read as it comes


async def test_only_the_first_user_is_an_admin_unless_the_config_names_admins() -> None:
    adapter, out = await console()
    assert adapter.user.is_admin
    await adapter.handle_line("/as bob")
    await adapter.handle_line("/daily set 09:00 UTC")
    assert "Only workspace admins can use `daily set`" in out.getvalue()
    named, _ = await console(Config(console=ConsoleSection(admins=["Bob"])))
    assert not named.user.is_admin
    await named.handle_line("/as bob")
    assert named.user.is_admin


async def test_suggestions_are_printed_once_as_numbered_buttons() -> None:
    adapter, out = await console()
    await adapter.handle_line("/ask tensor board games")  # suggestions longer than a button label
    text = out.getvalue()
    assert adapter.buttons and "Did you mean" in text
    for number, button in enumerate(adapter.buttons, 1):
        entry = adapter.bot.library.entry(buttons.parse(button.id).entry_key)  # type: ignore[union-attr]
        assert entry is not None
        assert text.count(button.label.rstrip("…")) == 1, button.label  # once, in full, as the button
        assert f"  [{number}] {entry.question}\n" in text


async def test_console_plays_a_typed_question_with_a_hint_a_typo_and_a_stop() -> None:
    """The console asks for a typed answer on the next line; hints and `quiz stop` work as in chat."""
    import io

    from bot.adapters.console import ConsoleAdapter
    from tests.core.fakes import make_bot as make_core

    bot, _, _ = await make_core()
    card = bot.library.card("tensorflow/constant-vs-variable/q1")
    bot.quiz.pick_card = lambda topic, exclude=frozenset(), typed=False: card  # type: ignore[assignment,method-assign]
    out = io.StringIO()
    console = ConsoleAdapter(bot, out=out, user="ada")
    for line in ("/quiz typed seconds 60", "2", "1", "tf.Varaible", "/as bob", "/quiz stop", "/as ada",
                 "/quiz stop"):
        await console.handle_line(line)
    text = out.getvalue()
    assert "  [1] Answer\n  [2] Hint" in text
    assert "Hint 1 of 3: `t·.········`" in text
    assert "Your answer: type it on the next line" not in text  # the field's title is the topic's
    assert "type it on the next line" in text and "Answer “tf.Varaible” locked in." in text
    assert "Only ada, who started this quiz, or an admin can stop it. Ask ada or an admin." in text
    assert "Correct: ada (+8)" in text and "Accepted answers: `tf.Variable`" in text
    assert "Stopped by ada after 1 question." in text and not bot.quiz.open
