"""The deck folder appears whole or not at all, and an existing folder is replaced only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.importing import ImportRefused, import_file
from bot.kb.importing.writer import write_deck
from tests.kb.importing.sources import imported, write

CSV = "front,back\nhola,hello\nadiós,goodbye\ngato,cat\n"


def test_default_folder_is_named_after_the_deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = import_file(write(tmp_path / "Spanish Basics.csv", CSV))
    assert report.folder == Path("spanish-basics")
    assert "Wrote deck 'spanish-basics' to spanish-basics: 3 entries" in report.lines()[-2]
    assert sorted(p.name for p in (tmp_path / "spanish-basics").iterdir()) == ["deck.yaml", "entries.yaml"]
    assert report.deck.name == "spanish-basics"


def test_deck_option_names_the_deck_and_must_be_a_valid_name(tmp_path: Path) -> None:
    source = write(tmp_path / "x.csv", CSV)
    _, deck = imported(source, deck_name="spanish")
    assert deck.name == "spanish"
    with pytest.raises(ImportRefused, match=r"--deck 'My Spanish' is not a deck name: .*\(for example 'my-spanish'\)"):
        import_file(source, deck_name="My Spanish", out=tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_a_non_empty_folder_is_refused_without_force(tmp_path: Path) -> None:
    source = write(tmp_path / "x.csv", CSV)
    out = tmp_path / "deck"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ImportRefused, match="is not empty; choose another --out, or add --force"):
        import_file(source, out=out)
    with pytest.raises(ImportRefused, match="holds files but no deck.yaml; --force only replaces a deck folder"):
        import_file(source, out=out, force=True)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck", "x.csv"]  # no staging folder left behind


def test_an_empty_folder_is_used_and_force_replaces_a_deck(tmp_path: Path) -> None:
    out = tmp_path / "deck"
    out.mkdir()
    imported(write(tmp_path / "x.csv", CSV), out=out)
    (out / "old-extra.yaml").write_text("entries: []\n")
    _, deck = imported(write(tmp_path / "y.csv", "front,back\none,1\ntwo,2\n"), out=out, force=True)
    assert [e.question for e in deck.entries] == ["one", "two"]
    assert sorted(p.name for p in out.iterdir()) == ["deck.yaml", "entries.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck", "x.csv", "y.csv"]


def test_a_file_as_target_or_a_missing_source_is_refused(tmp_path: Path) -> None:
    target = write(tmp_path / "taken", "")
    with pytest.raises(ImportRefused, match="is a file; give --out a folder name"):
        import_file(write(tmp_path / "x.csv", CSV), out=target)
    with pytest.raises(ImportRefused, match="missing.csv: no such file"):
        import_file(tmp_path / "missing.csv", out=tmp_path / "deck")
    assert not (tmp_path / "deck").exists()


def test_a_deck_the_loader_rejects_is_never_moved_into_place(tmp_path: Path) -> None:
    entries: list[dict[str, object]] = [{"id": "no-card", "topic": "general", "question": "Q?", "answer": "A"}]
    meta: dict[str, object] = {"name": "broken", "topics": {"general": "General"}}
    with pytest.raises(ImportRefused, match="bug in the importer.*no-card.quiz: missing"):
        write_deck(tmp_path / "deck", meta, entries, "header", force=False)
    assert list(tmp_path.iterdir()) == []


def test_written_yaml_reads_like_a_hand_written_deck(tmp_path: Path) -> None:
    report, _ = imported(write(tmp_path / "x.csv", 'front,back\n"Why?","Because:\n\n- one\n- two"\nhola,hello\n'))
    text = (report.folder / "entries.yaml").read_text()
    assert text.startswith("# Made by `studybot kb import` from x.csv.")
    assert "entries:\n  - id: why\n    topic: general\n" in text
    assert "    answer: |-\n      Because:\n\n      - one\n      - two\n" in text


def test_a_folder_that_cannot_be_written_is_refused_in_one_line(tmp_path: Path) -> None:
    blocked = write(tmp_path / "blocked", "a file where a folder should be")
    with pytest.raises(ImportRefused, match=r"blocked/deck: cannot write there \(.*\); choose another --out"):
        import_file(write(tmp_path / "x.csv", CSV), out=blocked / "deck")


def test_a_very_long_file_name_still_makes_a_valid_deck(tmp_path: Path) -> None:
    source = write(tmp_path / (("Spanish vocabulary " * 13).strip().replace(" ", "_") + ".csv"), CSV)
    assert len(source.stem) > 200
    _, deck = imported(source)
    assert len(deck.title) <= 200 and deck.title.startswith("Spanish vocabulary Spanish")
    assert len(deck.name) <= 40


def test_odd_text_never_makes_a_deck_the_loader_rejects(tmp_path: Path) -> None:
    """Seeded odd cards (markup, YAML-looking text, Unicode, long lines) always give a valid deck."""
    import random

    fragments = ["yes", "no", "1", "- a", "# h", "a: b", "*x*", "**", "<b>b</b>", "<br>", "&nbsp;", "<img src=x>",
                 "[sound:a.mp3]", "{{c1::gap}}", "```", "| t |", "日本語", "🎉", "\u2028", "\x85", "'", '"', "\\",
                 "  ", "\t", "Ä", "x" * 130, "word", "?", "|", ":", "#", "!"]
    rng = random.Random(4)  # seed 4 found the fence-only question

    def text() -> str:
        return "".join(rng.choice(fragments) + rng.choice(["", " ", "\n"]) for _ in range(rng.randint(1, 6)))

    rows = [[text(), text(), text(), "|".join(text() for _ in range(rng.choice([0, 0, 2, 3]))), rng.choice(["", "1"])]
            for _ in range(150)]
    import csv
    with (tmp_path / "odd.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["question", "answer", "topic", "choices", "correct"])
        writer.writerows(rows)
    report, deck = imported(tmp_path / "odd.csv")
    assert len(deck.entries) + len(report.skipped) == 150
    assert len(deck.entries) > 50
