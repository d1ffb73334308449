"""The CLI shapes that scripts rely on, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def studybot(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=60)


def test_ask_stdin_json_prints_one_object_per_line() -> None:
    run = studybot("ask", "-", "--json", "--top", "2", stdin="what is eager execution\nhow do I center a div\n")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["what is eager execution", "how do I center a div"]
    first, second = lines
    assert first["answered"] is True
    assert first["matches"][0]["id"] == "eager-execution"
    assert first["matches"][0]["deck"] == "tensorflow"
    assert set(first["matches"][0]) == {"id", "deck", "question", "score"}
    assert isinstance(first["matches"][0]["score"], float)
    assert len(first["matches"]) == 2
    assert second["answered"] is False


def test_ask_human_output_shows_answer_card_or_suggestions() -> None:
    answered = studybot("ask", "what is a tf.Variable")
    assert answered.returncode == 0
    assert "Variable" in answered.stdout.splitlines()[0]
    unsure = studybot("ask", "how do I center a div")
    assert unsure.stdout.startswith("No confident answer")


def test_ask_unknown_deck_is_refused_with_the_known_names() -> None:
    run = studybot("ask", "dropout", "--deck", "nope")
    assert run.returncode == 2
    assert "tensorflow" in run.stderr


def test_kb_list_json_and_show() -> None:
    listed = json.loads(studybot("kb", "list", "--json").stdout)
    assert len(listed) == 40
    assert set(listed[0]) == {"id", "deck", "topic", "question", "cards"}
    shown = studybot("kb", "show", "gans")
    assert shown.returncode == 0 and "Generative Adversarial" in shown.stdout
    assert studybot("kb", "show", "no-such-id").returncode == 1


def test_kb_validate_passes_on_shipped_deck_and_fails_precisely(tmp_path: Path) -> None:
    assert studybot("kb", "validate").returncode == 0
    deck = tmp_path / "bad"
    deck.mkdir()
    (deck / "deck.yaml").write_text("name: bad\ntopics:\n  t: T\n")
    (deck / "e.yaml").write_text(
        "entries:\n  - id: x\n    topic: t\n    question: Q?\n    answer: A.\n    related: [missing]\n"
        "    quiz:\n      - id: q1\n        prompt: P?\n        choices:\n          - text: a\n"
        "          - text: b\n        explanation: E.\n")
    run = studybot("kb", "validate", str(deck))
    assert run.returncode == 1
    assert f"{deck / 'e.yaml'}:6: x.related: no entry with id 'missing'" in run.stderr
    assert f"{deck / 'e.yaml'}:11: x.quiz[0].choices: has 0 correct choices" in run.stderr


def test_ask_does_not_import_chat_libraries() -> None:
    code = ("import sys; from bot.cli import main; main(['ask', 'dropout', '--json']); "
            "print([m for m in ('discord', 'slack_bolt', 'aiosqlite', 'aiohttp') if m in sys.modules])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_a_count_that_is_not_a_number_says_what_would_work() -> None:
    """`--top abc` said "invalid _positive value"."""
    run = studybot("ask", "what is dropout", "--top", "abc")
    assert run.returncode == 2
    assert "argument --top: expected a whole number of 1 or more (e.g. 3), got 'abc'" in run.stderr
    assert "_positive" not in run.stderr


def test_blank_lines_on_stdin_are_not_queries() -> None:
    run = studybot("ask", "-", "--json", stdin="what is eager execution\n\n   \nwhat is dropout\n")
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)["query"] for line in run.stdout.splitlines()] == ["what is eager execution",
                                                                               "what is dropout"]
