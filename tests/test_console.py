"""The console adapter end to end: `python -m bot run` with piped input, as a newcomer first meets it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.console import render
from bot.core.replies import Button, Field, Reply, fit
from bot.kb.library import load_library
from bot.kb.model import QuizCard
from bot.run import DB_FILE

REPO = Path(__file__).resolve().parent.parent
LETTERS = "ABCDE"
# Rounds last 600 s, so each is certainly still open when the piped input ends (however slow the
# machine), and the console reveals it at end of input.
SESSION = [
    "/help",
    "/ask what is eager execution",
    "/as alice",
    "/ask how do I center a div",
    "/quiz seconds 600",
    "1",
    "/as bob",
    "2",
    "/as bob",
    "2",
    "/leaderboard",
]


def console(tmp_path: Path, lines: list[str], data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs the console with no config file, ``lines`` piped in, home and data folders inside ``tmp_path``."""
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    return subprocess.run([sys.executable, "-m", "bot", "run", "--data-dir", str(data_dir or tmp_path / "data")],
                          input="".join(f"{line}\n" for line in lines), capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=60)


def blocks(stdout: str) -> list[str]:
    """The console's messages: it separates them with a blank line (answers may hold blank lines too)."""
    return stdout.split("\n\n")


def card_with_prompt(prompt: str) -> QuizCard:
    library = load_library([], include_builtin=True)
    cards = [c for d in library.decks for c in d.cards if c.prompt == prompt]
    assert len(cards) == 1, f"no single card has the prompt {prompt!r}"
    return cards[0]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    tmp_path = tmp_path_factory.mktemp("console")
    return console(tmp_path, SESSION), tmp_path


def test_session_ends_cleanly_at_end_of_input(session: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    run, _ = session
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout.startswith("StudyBot console. Type /help for commands")


def test_help_lists_the_commands_privately(session: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    run, _ = session
    assert "(private to you)\nStudyBot commands\n`ask` — Look up a concept in the decks" in run.stdout
    assert "`leaderboard` — " in run.stdout


def test_ask_shows_the_answer_card_with_related_buttons(session: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    run, _ = session
    card = next(b for b in blocks(run.stdout) if b.startswith("What is eager execution in TensorFlow"))
    assert "Eager execution means TensorFlow evaluates each operation immediately" in run.stdout  # bold dropped
    assert "**" not in card
    assert re.search(r"^  \[\d\] Quiz me on this$", run.stdout, re.MULTILINE)
    assert "(Basic Concepts and TensorFlow Overview · tensorflow)" in run.stdout


def test_ask_declines_what_the_decks_do_not_cover(session: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    run, _ = session
    assert ("(you are now alice)\n\n(private to alice)\n"
            "I have no confident answer for \"how do I center a div\"") in run.stdout


def test_round_is_played_and_revealed_at_end_of_input(session: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    run, _ = session
    out = run.stdout
    question = next(b for b in blocks(out) if b.startswith("Quiz: ")).splitlines()
    first_button = next(i for i, line in enumerate(question) if line.startswith("  [1] "))
    prompt = "\n".join(question[1:first_button])
    card = card_with_prompt(prompt)
    # The choices are shown once, as numbered buttons, with the round's length in the footer.
    buttons = [f"  [{i}] " + fit(f"{LETTERS[i - 1]}. {c.text}", 80) for i, c in enumerate(card.choices, 1)]
    assert question[first_button:-1] == [*buttons, f"  [{len(buttons) + 1}] 50/50"]  # and the hint, last
    assert question[-1].endswith(" · 600 s · one answer each)")
    assert "(private to alice)\nQuiz started: 1 question, 600 s each. Good luck!" in out

    # Every answer is acknowledged privately; a second press is refused.
    assert "(private to alice)\nAnswer A locked in. Results when the round closes." in out
    assert "(private to bob)\nAnswer B locked in. Results when the round closes." in out
    assert "(private to bob)\nYou already answered this round; your first answer counts." in out

    # The reveal comes after everything typed (end of input), with the deck's correct choice.
    right = card.choices[card.correct_index]
    title = fit(f"Answer: {prompt}", 200)
    assert out.index(title) > out.index("Leaderboard: This week")
    reveal = out[out.index(title):]
    assert f"\n{LETTERS[card.correct_index]}. {right.text}\n" in reveal
    winners = [name for name, pressed in (("alice", 0), ("bob", 1)) if pressed == card.correct_index]
    expected = f"Correct: {winners[0]} (+10)" if winners else "Correct: Nobody this time."
    assert expected in reveal
    assert f"Answers: 2 ({len(winners)} right)" in reveal
    assert reveal.rstrip().endswith("(Leaderboard: `leaderboard today`)")


def test_database_lives_in_the_data_dir_only(session: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, tmp_path = session
    assert (tmp_path / "data" / DB_FILE).is_file()
    assert not (tmp_path / "xdg").exists()
    assert not (tmp_path / "home").exists()


def test_second_run_reuses_the_database_and_quit_ends_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = console(tmp_path, ["/quiz seconds 600", "/as bob", "2"], data)
    assert first.returncode == 0, first.stderr
    second = console(tmp_path, ["/as bob", "/stats", "/quit", "/help"], data)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    assert "(private to bob)\nStats: You\n" in second.stdout
    assert "Answered: 1\n" in second.stdout  # bob's answer from the first run was kept
    assert "StudyBot commands" not in second.stdout  # nothing after /quit is read


def test_console_has_no_cooldowns_so_a_script_can_ask_twice(tmp_path: Path) -> None:
    run = console(tmp_path, ["/ask what is dropout", "/ask what is a tensor", "/quiz seconds 600", "/quiz seconds 600"])
    assert run.returncode == 0, run.stderr
    assert "Easy there" not in run.stdout
    assert "How do you handle overfitting in deep learning models?" in run.stdout
    assert "Explain the concept of tensors in TensorFlow." in run.stdout
    assert "A quiz is already running in this channel" in run.stdout  # one round a channel still holds


def test_a_reader_that_goes_away_ends_the_console_without_a_traceback(tmp_path: Path) -> None:
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--data-dir", str(tmp_path / "data")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO, env=env)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().startswith(b"StudyBot console.")
    proc.stdout.close()  # like `studybot run | head -1`
    # Far more output than a pipe buffers, so a write must meet the closed pipe.
    _, stderr = proc.communicate(b"/help\n" * 500, timeout=60)
    assert proc.returncode == 1
    assert b"Traceback" not in stderr


def test_quit_alone_exits_zero(tmp_path: Path) -> None:
    run = console(tmp_path, ["/quit"])
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith("StudyBot console.")


# Rendering rules


def test_a_line_that_is_not_utf8_is_refused_clearly_and_the_next_one_answered(tmp_path: Path) -> None:
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    run = subprocess.run([sys.executable, "-m", "bot", "run", "--data-dir", str(tmp_path / "data")],
                         input=b"/ask caf\xe9 kubernetes\n/as b\xf6b\n/ask what is eager execution\n",
                         capture_output=True, cwd=REPO, env=env, timeout=60)
    out, err = run.stdout.decode("utf-8"), run.stderr.decode("utf-8")  # strict: no invalid bytes come out
    assert run.returncode == 0 and err == ""
    refusals = [b for b in blocks(out) if "not valid UTF-8" in b]
    assert refusals == ["That line was not read: it is not valid UTF-8 (byte 0xe9 after '/ask caf'). "
                        "Please type it again.",
                        "That line was not read: it is not valid UTF-8 (byte 0xf6 after '/as b'). "
                        "Please type it again."]
    assert "Eager execution" in out and "(you are now" not in out and "Sorry" not in out


def test_a_debug_run_logs_nothing_people_typed(tmp_path: Path) -> None:
    """aiosqlite logs every statement with its parameters at DEBUG: questions and names would be in the log."""
    config = tmp_path / "studybot.toml"
    config.write_text('[bot]\nlog_level = "DEBUG"\n', encoding="utf-8")
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    run = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(config), "--data-dir",
                          str(tmp_path / "data")],
                         input="/ask how do I center a zanzibar div\n/as Mallory Quetzalcoatl\n/quiz seconds 600\n1\n",
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "DEBUG" in run.stderr  # the level took effect
    assert "zanzibar" not in run.stderr and "Quetzalcoatl" not in run.stderr
    assert "zanzibar" in run.stdout and "Quetzalcoatl" in run.stdout  # the console itself still shows them


def test_a_debug_run_keeps_the_debug_lines_of_a_library_named_in_library_debug(tmp_path: Path) -> None:
    """The opt-in for troubleshooting a library: its DEBUG lines (here aiosqlite's statements) are kept."""
    config = tmp_path / "studybot.toml"
    config.write_text('[bot]\nlog_level = "DEBUG"\nlibrary_debug = ["aiosqlite"]\n', encoding="utf-8")
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    run = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(config), "--data-dir",
                          str(tmp_path / "data")], input="/topics\n", capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert re.search(r"DEBUG aiosqlite: (executing|operation)", run.stderr), run.stderr[-2000:]


def test_render_drops_bold_but_not_inside_code_and_shows_fields_and_footer() -> None:
    reply = Reply("Use **kwargs** like this:\n```python\nf(**a, **b)\n```", title="T",
                  fields=(Field("Answered", "3"),), footer="topic · deck", ephemeral=True)
    assert render(reply, "bob") == ("(private to bob)\nT\nUse kwargs like this:\n```python\nf(**a, **b)\n```\n"
                                    "Answered: 3\n(topic · deck)")


def test_render_shows_a_choice_once_as_a_numbered_button() -> None:
    reply = Reply("Pick one:\n\n**A.** yes\n**B.** no", buttons=(Button("a", "A. yes"), Button("b", "B. no")))
    assert render(reply, "you") == "Pick one:\n  [1] A. yes\n  [2] B. no"


async def test_lines_from_a_pipe_are_read_without_the_executor_as_bytes_for_handle_line_to_decode() -> None:
    from bot.adapters.console import read_lines

    reader, writer = os.pipe()
    os.write(writer, b"/help\n/ask caf\xe9\n/quit")
    os.close(writer)
    with os.fdopen(reader, "r") as stream:
        lines = [line async for line in read_lines(stream)]
    # Bytes, so handle_line can refuse a line that is not UTF-8 by name instead of guessing.
    assert lines == [b"/help\n", b"/ask caf\xe9\n", b"/quit"]


def test_the_readmes_first_transcript_is_what_a_real_run_prints(tmp_path: Path) -> None:
    """The README's opening console transcript, replayed: "..." stands for lines cut there."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```text\n", 1)[1].split("```\n", 1)[0].splitlines()
    command, expected = block[0], block[1:]
    assert command.startswith("$ printf '%s\\n' ") and command.endswith(" | studybot run")
    lines = shlex.split(command[len("$ printf '%s\\n' "):-len(" | studybot run")])
    actual = console(tmp_path, lines).stdout.rstrip("\n").splitlines()
    position = 0
    for number, line in enumerate(expected):
        if line == "...":  # any lines, up to the next expected one
            following = expected[number + 1]
            position = next(i for i in range(position, len(actual)) if actual[i] == following)
            continue
        if line.endswith(" ..."):
            assert actual[position].startswith(line[:-4]), (line, actual[position])
        else:
            assert actual[position] == line
        position += 1
    assert position == len(actual)
