"""Anki packages built with genanki: fields, HTML, media, tags, cloze, duplicates; broken packages refused."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pytest

from bot.kb.importing import ImportRefused, anki_package
from tests.kb.importing.apkg import build_apkg, rename_collection, to_newest_format, write_zip
from tests.kb.importing.sources import imported

NOTES = [
    ("Capital of <b>France</b>?", "Paris<img src='paris.jpg'>", ["geo::europe", "capitals"]),
    ("Capital of Japan?", "<div>Tokyo</div>[sound:tokyo.mp3]", ["geo::asia", "capitals", "leech"]),
    ("Capital of Peru?", "Lima", ["geo::america", "capitals"]),
    ("<img src='flag.png'>", "Flag of Italy", ["capitals"]),
    ("Capital of  japan?", "Tokyo, Japan", ["capitals"]),
    ("Capital of Kenya?", "Nairobi", []),
]


def test_notes_become_entries_with_markdown_topics_from_tags_and_media_reported(tmp_path: Path) -> None:
    source = build_apkg(tmp_path / "World Capitals.apkg", NOTES)
    report, deck = imported(source)
    assert deck.name == "world-capitals"
    assert deck.title == "World Capitals"
    assert [(e.id, e.question, e.answer) for e in deck.entries] == [
        ("capital-of-france", "Capital of **France**?", "Paris"),
        ("capital-of-japan", "Capital of Japan?", "Tokyo"),
        ("capital-of-peru", "Capital of Peru?", "Lima"),
        ("capital-of-kenya", "Capital of Kenya?", "Nairobi"),
    ]
    # "capitals" is on most notes, but the first tag not on every note names the topic; Anki's "leech" is ignored.
    assert [e.topic for e in deck.entries] == ["geo-europe", "geo-asia", "geo-america", "general"]
    assert deck.topics["geo-europe"] == "geo / europe"
    assert deck.entries[1].keywords == ("geo / asia", "capitals")
    assert report.read.kind == "Anki package (collection.anki2)"
    assert report.read.mapping[0] == "Note type 'Basic (genanki)': 'Front' → question, 'Back' → answer"
    assert [str(s) for s in report.skipped] == [
        "note 4: the question (first field) is empty once media is left out (it held flag.png)",
        "note 5: same question as note 2 but a different answer; merge them in the file if both matter "
        "(kept the first)",
    ]
    assert report.read.warnings == [
        "note 1: media skipped (paris.jpg); decks hold text only",
        "note 2: media skipped (tokyo.mp3); decks hold text only",
        "note 4: media skipped (flag.png); decks hold text only",
    ]
    assert "Skipped 2:" in report.lines()


def test_a_tag_on_every_note_still_names_the_topic(tmp_path: Path) -> None:
    notes = [("one?", "1", ["numbers"]), ("two?", "2", ["numbers"]), ("three?", "3", ["numbers"])]
    _, deck = imported(build_apkg(tmp_path / "n.apkg", notes))
    assert deck.topics == {"numbers": "numbers"}


def test_cloze_notes_ask_with_gaps_and_answer_with_them_filled(tmp_path: Path) -> None:
    cloze = [("{{c1::Canberra}} is the capital of {{c2::Australia::country}}", "Not Sydney")]
    _, deck = imported(build_apkg(tmp_path / "c.apkg", NOTES[:3], cloze=cloze))
    entry = deck.entries[-1]
    assert entry.question == "[…] is the capital of [country]"
    assert entry.answer == "**Canberra** is the capital of **Australia**\n\nNot Sydney"
    right = next(c.text for c in entry.quiz[0].choices if c.correct)
    assert right == "Canberra · Australia"


def test_collection_anki21_is_read_and_preferred_over_anki2(tmp_path: Path) -> None:
    source = build_apkg(tmp_path / "new.apkg", NOTES[:3])
    other = build_apkg(tmp_path / "other.apkg", [("Stub?", "stub", []), ("Stub 2?", "stub 2", [])])
    with zipfile.ZipFile(other) as archive:
        stub = archive.read("collection.anki2")
    rename_collection(source, "collection.anki21", extra={"collection.anki2": stub})
    report, deck = imported(source)
    assert report.read.kind == "Anki package (collection.anki21)"
    assert [e.answer for e in deck.entries] == ["Paris", "Tokyo", "Lima"]


def test_newest_format_is_read_from_its_compressed_collection_not_the_stub(tmp_path: Path) -> None:
    source = to_newest_format(build_apkg(tmp_path / "latest.apkg", NOTES[:3]))
    report, deck = imported(source)
    assert report.read.kind == "Anki package (collection.anki21b)"
    assert report.read.mapping[0] == "Note type 'Basic (genanki)': 'Front' → question, 'Back' → answer"
    assert [e.answer for e in deck.entries] == ["Paris", "Tokyo", "Lima"]


def test_newest_format_without_zstandard_is_refused_naming_the_export_option(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = to_newest_format(build_apkg(tmp_path / "latest.apkg", NOTES[:3]))
    monkeypatch.setattr(anki_package, "_zstd_copy", lambda: None)
    with pytest.raises(ImportRefused) as refused:
        imported(source)
    assert "needs the zstandard package (pip install 'studybot[anki]')" in str(refused.value)
    assert "tick “Support older Anki versions”" in str(refused.value)
    assert not (tmp_path / "deck").exists()


def test_read_only_notes_table_is_all_that_is_needed(tmp_path: Path) -> None:
    """A collection whose col.models cannot be read still imports, naming fields by position."""
    source = build_apkg(tmp_path / "plain.apkg", NOTES[:3])
    with zipfile.ZipFile(source) as archive:
        database = tmp_path / "collection.anki2"
        database.write_bytes(archive.read("collection.anki2"))
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE col SET models = 'not json'")
    connection.close()
    write_zip(source, {"collection.anki2": database.read_bytes(), "media": b"{}"})
    report, deck = imported(source)
    assert report.read.mapping[0] == "Note fields: field 1 → question, field 2 → answer"
    assert len(deck.entries) == 3


@pytest.mark.parametrize(("members", "message"), [
    (None, "not an Anki package (not a zip file)"),
    ({"media": b"{}"}, "a zip file without an Anki collection (none of collection.anki21b, collection.anki21, "
                       "collection.anki2 is inside)"),
    ({"collection.anki2": b"this is not sqlite" * 10, "media": b"{}"}, "collection.anki2 is not a readable Anki"),
    ({"collection.anki21b": b"not zstd", "collection.anki2": b"stub"}, "the package is damaged"),
])
def test_broken_packages_are_refused_and_nothing_written(tmp_path: Path, members: dict[str, bytes] | None,
                                                         message: str) -> None:
    source = tmp_path / "broken.apkg"
    if members is None:
        source.write_text("just text")
    else:
        write_zip(source, members)
    with pytest.raises(ImportRefused) as refused:
        imported(source, out=tmp_path / "out")
    assert str(refused.value).startswith(f"{source}: {message}")
    assert "\n" not in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.apkg"]


def test_a_zip_with_another_name_is_read_as_a_package(tmp_path: Path) -> None:
    source = build_apkg(tmp_path / "export.zip", NOTES[:3])
    report, _ = imported(source)
    assert report.read.kind.startswith("Anki package")


def test_a_package_without_notes_is_refused(tmp_path: Path) -> None:
    source = build_apkg(tmp_path / "empty.apkg", [])
    with pytest.raises(ImportRefused, match=r"empty.apkg: holds no cards"):
        imported(source)
