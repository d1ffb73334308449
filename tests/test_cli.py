"""The CLI shapes that scripts rely on, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import blas

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


def test_ask_stdin_line_that_is_not_utf8_is_named_and_skipped_with_valid_output() -> None:
    raw = b"what is caf\xe9 dropout\nwhat is eager execution\n"
    for args in (["--json"], []):
        run = subprocess.run([sys.executable, "-m", "bot", "ask", "-", *args], input=raw, capture_output=True,
                             cwd=REPO, timeout=60)
        out, err = run.stdout.decode("utf-8"), run.stderr.decode("utf-8")  # strict: no invalid bytes come out
        assert run.returncode == 1, err
        assert "line 1 is not valid UTF-8 (byte 0xe9 after 'what is caf'); skipped" in err and "Traceback" not in err
        if args:
            first, second = (json.loads(line) for line in out.splitlines())
            assert first == {"query": "what is caf\ufffd dropout", "answered": False, "matches": [],
                             "error": "not valid UTF-8"}  # one line out per line in, still
            assert second["answered"] is True
        else:
            assert out.startswith("What is eager execution") and "caf" not in out


def test_ask_argument_that_is_not_utf8_is_refused() -> None:
    run = subprocess.run([sys.executable, "-m", "bot", "ask", b"caf\xe9"], capture_output=True, cwd=REPO, timeout=60)
    assert run.returncode == 2 and run.stdout == b""
    assert "the question is not valid UTF-8 (byte 0xe9 after 'caf')" in run.stderr.decode("utf-8")


def test_kb_validate_and_run_refuse_a_folder_with_no_deck(tmp_path: Path) -> None:
    empty = tmp_path / "my-decks"
    empty.mkdir()
    validate = studybot("kb", "validate", str(empty))
    assert validate.returncode == 1 and str(empty) in validate.stderr and "no deck.yaml" in validate.stderr
    config = tmp_path / "studybot.toml"
    config.write_text(f'[decks]\npaths = ["{empty}"]\n', encoding="utf-8")
    run = studybot("run", "--config", str(config), "--data-dir", str(tmp_path / "data"), stdin="/help\n")
    assert run.returncode == 1 and str(empty) in run.stderr and "StudyBot console" not in run.stdout


def test_version_is_the_package_version() -> None:
    from importlib.metadata import version

    run = studybot("--version")
    assert run.returncode == 0
    assert run.stdout == f"studybot {version('studybot')}\n"


def test_kb_import_writes_a_deck_that_validates_and_refuses_a_broken_file(tmp_path: Path) -> None:
    from tests.kb.importing.apkg import build_apkg

    source = build_apkg(tmp_path / "capitals.apkg", [("Capital of <b>France</b>?", "Paris", ["europe"]),
                                                     ("Capital of Japan?", "Tokyo<img src='t.png'>", ["asia"]),
                                                     ("Capital of Peru?", "Lima", ["america"])])
    out = tmp_path / "decks" / "capitals"
    run = studybot("kb", "import", str(source), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "note 2: media skipped (t.png)" in run.stdout
    assert f"Wrote deck 'capitals' to {out}: 3 entries, 3 quiz cards, 3 topic(s)." in run.stdout
    assert studybot("kb", "validate", str(out)).returncode == 0
    again = studybot("kb", "import", str(source), "--out", str(out))
    assert again.returncode == 1
    assert again.stderr.strip() == f"Cannot import: {out} is not empty; choose another --out, or add --force to " \
                                   "replace the deck in it"
    broken = tmp_path / "broken.apkg"
    broken.write_text("not a zip")
    refused = studybot("kb", "import", str(broken), "--out", str(tmp_path / "nothing"))
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and f"{broken}: not an Anki package" in refused.stderr
    assert not (tmp_path / "nothing").exists()


def test_review_export_writes_a_persons_log_as_csv_and_names_a_missing_workspace(tmp_path: Path) -> None:
    import asyncio
    import csv
    from datetime import UTC, datetime, timedelta

    from bot.config import ReviewSection
    from bot.core.reviews import Reviewer
    from bot.core.shelf import Shelf
    from bot.store.base import Learner
    from bot.store.sqlite import SqliteStore
    from tests.core.fakes import library

    async def rate_twice() -> None:
        store = await SqliteStore.open(tmp_path / "studybot.sqlite3")
        reviewer = Reviewer(Shelf(library(), library), store, lambda: datetime(2026, 3, 2, 12, tzinfo=UTC),
                            ReviewSection())
        stored = None
        for minutes, rating in ((0, 1), (5, 3)):
            rated = reviewer.rate(Learner("console", "local", "you"), "tensorflow/eager-execution/1", stored, rating,
                                  datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(minutes=minutes), "review")
            async with store.unit() as unit:
                assert await unit.save_review(rated.card, rated.entry)
            stored = rated.card
        await store.close()

    asyncio.run(rate_twice())
    out = tmp_path / "me.csv"
    done = subprocess.run([sys.executable, "-m", "bot", "review", "export", "--user", "you", "--data-dir",
                           str(tmp_path), "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Wrote 2 review(s) of you" in done.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["card_id"], r["rating_name"], r["first"]) for r in rows] == [
        ("tensorflow/eager-execution/1", "Again", "1"), ("tensorflow/eager-execution/1", "Good", "0")]
    refused = subprocess.run([sys.executable, "-m", "bot", "review", "export", "--user", "U1", "--platform", "slack",
                              "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--workspace" in refused.stderr


def test_the_command_line_imports_what_a_command_needs_only_when_it_runs() -> None:
    # `studybot --version` took 0.4 s when every module was imported up front; `ask` needs no asyncio.
    check = ("import sys; import bot.cli; "
             "heavy = sorted(m for m in ('numpy', 'asyncio', 'bot.kb.library', 'bot.store.base') if m in sys.modules); "
             "print(','.join(heavy))")
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
    version = studybot("--version")
    assert version.returncode == 0 and version.stdout.startswith("studybot ")


def test_a_lookup_multiplies_on_one_blas_thread_unless_told_otherwise() -> None:
    """numpy's BLAS pool starts a thread per core, and on a busy machine a question waited for them
    (p99 15-20 ms against 0.39 ms: ``bot.blas``). Counted as the threads the process holds after an
    ``ask`` with no BLAS variable set, against numpy imported without the command line."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("threads are counted in /proc")
    env = {k: v for k, v in os.environ.items() if k not in blas.VARIABLES}
    count = "import os, sys; print(len(os.listdir('/proc/self/task')), file=sys.stderr)"

    def threads(code: str, extra: dict[str, str] | None = None) -> int:
        run = subprocess.run([sys.executable, "-c", f"{code}; {count}"], capture_output=True, text=True,
                             cwd=REPO, timeout=60, env={**env, **(extra or {})}, check=True)
        return int(run.stderr.strip().splitlines()[-1])

    if threads("import numpy") == 1:
        pytest.skip("one core: numpy's BLAS starts no pool to compare against")
    assert threads("from bot.cli import main; main(['ask', 'dropout', '--json'])") == 1
    told = threads("from bot.cli import main; main(['ask', 'dropout', '--json'])", {"OPENBLAS_NUM_THREADS": "2"})
    assert told == 2  # someone who set it keeps it


def test_kb_score_prints_a_decks_figures_per_kind_and_refuses_queries_it_cannot_score(tmp_path: Path) -> None:
    """What a team writing its own deck measures it with: its queries.yaml, per kind; a query file
    that names no entry of the deck, or a deck without one, is refused with what to write."""
    docker = REPO / "tests" / "kb" / "decks" / "docker"
    scored = studybot("kb", "score", str(docker), "--misses")
    assert scored.returncode == 0, scored.stderr
    first, *kinds = scored.stdout.splitlines()
    assert first.startswith("docker (37 entries): ") and "decision" in first and "top-3" in first
    assert any(line.strip().startswith("paraphrase") for line in kinds)
    assert any("want " in line and "got " in line for line in kinds)  # --misses
    deck = tmp_path / "deck"
    shutil.copytree(docker, deck)
    (deck / "queries.yaml").write_text('- {q: "how do I list containers", id: list-containerz}\n- {id: null}\n'
                                       '- {q: "what is a volume", id: null, kind: nearmiss}\n')
    refused = studybot("kb", "score", str(deck))
    assert refused.returncode == 1 and refused.stdout == ""
    assert "item 1 ('how do I list containers'): id 'list-containerz' is no entry of the deck" in refused.stderr
    assert "item 2: needs q: the question as text" in refused.stderr
    (deck / "queries.yaml").write_text("- {q: [unclosed\n")
    broken = studybot("kb", "score", str(deck))
    assert broken.returncode == 1 and f"{deck / 'queries.yaml'}: not YAML" in broken.stderr
    (deck / "queries.yaml").unlink()
    missing = studybot("kb", "score", str(deck))
    assert missing.returncode == 1 and "no queries.yaml to score" in missing.stderr
