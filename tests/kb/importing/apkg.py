"""Real Anki packages for the import tests, built with genanki (the library Anki deck authors use)."""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import genanki
import zstandard

DECK_ID = 2059400110


def build_apkg(path: Path, notes: list[tuple[str, str, list[str]]], cloze: list[tuple[str, str]] = (),
               title: str = "Test deck") -> Path:
    """Writes an .apkg with Basic notes (front, back, tags) and Cloze notes (text, back extra)."""
    deck = genanki.Deck(DECK_ID, title)
    for front, back, tags in notes:
        deck.add_note(genanki.Note(model=genanki.BASIC_MODEL, fields=[front, back], tags=tags))
    for text, extra in cloze:
        deck.add_note(genanki.Note(model=genanki.CLOZE_MODEL, fields=[text, extra]))
    genanki.Package(deck).write_to_file(str(path))
    return path


def rename_collection(path: Path, new_name: str, extra: dict[str, bytes] | None = None) -> Path:
    """Rewrites the package with its collection under ``new_name`` (and any ``extra`` members)."""
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members[new_name] = members.pop("collection.anki2")
    members.update(extra or {})
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip file holding ``members`` (for packages that are broken on purpose)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def to_newest_format(path: Path) -> Path:
    """Rewrites a genanki package the way Anki 2.1.50+ exports by default.

    The collection takes schema 18's shape where the importer looks (note types and fields in
    their own tables, ``col.models`` empty, names ``COLLATE unicase``), is zstd-compressed as a
    stream into ``collection.anki21b``, and a stub ``collection.anki2`` with one "update Anki"
    note sits beside it, as in a real export.
    """
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "collection.sqlite"
        with zipfile.ZipFile(path) as source:
            database.write_bytes(source.read("collection.anki2"))
        connection = sqlite3.connect(database)
        connection.create_collation("unicase", lambda a, b: (a.lower() > b.lower()) - (a.lower() < b.lower()))
        models = json.loads(connection.execute("SELECT models FROM col").fetchone()[0])
        connection.execute("CREATE TABLE notetypes (id integer PRIMARY KEY, name text NOT NULL COLLATE unicase, "
                           "mtime_secs integer NOT NULL, usn integer NOT NULL, config blob NOT NULL)")
        connection.execute("CREATE TABLE fields (ntid integer NOT NULL, ord integer NOT NULL, name text NOT NULL "
                           "COLLATE unicase, config blob NOT NULL, PRIMARY KEY (ntid, ord)) WITHOUT ROWID")
        for mid, model in models.items():
            connection.execute("INSERT INTO notetypes VALUES (?, ?, 0, 0, x'')", (int(mid), model["name"]))
            connection.executemany("INSERT INTO fields VALUES (?, ?, ?, x'')",
                                   [(int(mid), field["ord"], field["name"]) for field in model["flds"]])
        connection.execute("UPDATE col SET models = ''")
        connection.commit()
        connection.close()
        compressed = io.BytesIO()
        with database.open("rb") as raw:
            zstandard.ZstdCompressor().copy_stream(raw, compressed)
        stub = build_apkg(Path(tmp) / "stub.apkg", [("This file requires a newer version of Anki.",
                                                     "Please update to the latest Anki version.", [])])
        with zipfile.ZipFile(stub) as archive:
            stub_collection = archive.read("collection.anki2")
    return write_zip(path, {"collection.anki2": stub_collection, "collection.anki21b": compressed.getvalue(),
                            "meta": b"\x08\x03", "media": b""})
