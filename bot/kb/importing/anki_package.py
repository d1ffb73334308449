"""Flashcards from Anki packages (``.apkg``; a ``.colpkg`` backup reads the same way).

A package is a zip holding the collection as SQLite: ``collection.anki2`` (old Anki, and
"Support older Anki versions" exports), ``collection.anki21``, or, the default since Anki 2.1.50,
``collection.anki21b``: zstd-compressed, schema 18, with a stub ``collection.anki2`` beside it
whose one note says "please update Anki". The newest member is read, never the stub. Reading
``anki21b`` needs the ``zstandard`` package (``pip install 'studybot[anki]'``); without it such
packages are refused, naming that and the Anki export option that makes a readable package.

Only the ``notes`` table is read; it has the same shape in every schema version. A note's first
field is the question and its second the answer (a cloze note's text gives both), its tags give
the topic and keywords, and its media is left out with a warning.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO

from bot.kb.importing.html_markdown import html_to_markdown
from bot.kb.importing.notes import ImportRefused, Note, Skip, SourceNotes

NEWEST = "collection.anki21b"
READABLE = (NEWEST, "collection.anki21", "collection.anki2")  # newest first: a package may hold several
# Tags Anki sets itself: they say nothing about what a card is about.
ANKI_STATE_TAGS = {"leech", "marked"}
_CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
_FIELD_SEPARATOR = "\x1f"


def read_package(path: Path) -> SourceNotes:
    """The notes of an Anki package.

    Raises:
        ImportRefused: not a zip, no collection in it, the newest (unreadable) format, or a broken database.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ImportRefused(f"{path}: not an Anki package (not a zip file); export the deck again from Anki "
                            "with File › Export › Anki Deck Package (.apkg)") from None
    with archive, tempfile.TemporaryDirectory(prefix="studybot-apkg-") as tmp:
        names = set(archive.namelist())
        member = next((name for name in READABLE if name in names), None)
        if member is None:
            raise ImportRefused(f"{path}: a zip file without an Anki collection (none of {', '.join(READABLE)} "
                                "is inside); export the deck from Anki with File › Export › Anki Deck Package")
        copy = _zstd_copy() if member == NEWEST else shutil.copyfileobj
        if copy is None:
            raise ImportRefused(f"{path}: made in Anki's newest package format ({NEWEST}, zstd-compressed), "
                                "which needs the zstandard package (pip install 'studybot[anki]'); or in Anki use "
                                "File › Export › Anki Deck Package, tick “Support older Anki versions” and "
                                "import that file")
        database = Path(tmp) / "collection.sqlite"
        try:
            with archive.open(member) as source, database.open("wb") as target:
                copy(source, target)
        except Exception as exc:  # zipfile, OS and zstd errors alike mean a damaged package
            raise ImportRefused(f"{path}: the package is damaged ({exc}); export the deck from Anki again") from None
        rows, note_types = _read_database(path, member, database)
    return _notes(rows, note_types, member)


def _zstd_copy() -> Callable[[IO[bytes], IO[bytes]], object] | None:
    """A function that decompresses a zstd stream into a file, or None without ``zstandard``."""
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard.ZstdDecompressor().copy_stream


def _read_database(path: Path, member: str, database: Path
                   ) -> tuple[list[tuple[int, str, str]], dict[int, tuple[str, list[str]]]]:
    """The notes (note type id, tags, fields) in creation order, and each note type's name and field names."""
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    except sqlite3.Error as exc:  # pragma: no cover - a temporary file we just wrote
        raise ImportRefused(f"{path}: cannot open {member} ({exc})") from None
    # Schema 18 declares names COLLATE unicase, a collation Anki registers itself.
    connection.create_collation("unicase", lambda a, b: (a.casefold() > b.casefold()) - (a.casefold() < b.casefold()))
    try:
        rows = connection.execute("SELECT mid, tags, flds FROM notes ORDER BY id").fetchall()
        return [(int(mid), str(tags or ""), str(flds or "")) for mid, tags, flds in rows], _note_types(connection)
    except sqlite3.Error as exc:
        raise ImportRefused(f"{path}: {member} is not a readable Anki collection ({exc}); export the deck "
                            "from Anki again with File › Export › Anki Deck Package") from None
    finally:
        connection.close()


def _note_types(connection: sqlite3.Connection) -> dict[int, tuple[str, list[str]]]:
    """Note type names and field names: ``col.models`` (JSON) before schema 18, its tables after."""
    try:
        row = connection.execute("SELECT models FROM col").fetchone()
        models = json.loads(row[0]) if row and row[0] else {}
    except (sqlite3.Error, ValueError):
        models = {}
    if not models:
        return _note_type_tables(connection)
    try:
        return {int(mid): (str(model.get("name", "")), [str(f.get("name", "")) for f in
                                                        sorted(model.get("flds", []), key=lambda f: f.get("ord", 0))])
                for mid, model in models.items()}
    except (sqlite3.Error, ValueError, TypeError, AttributeError):
        return {}


def _note_type_tables(connection: sqlite3.Connection) -> dict[int, tuple[str, list[str]]]:
    """Schema 18 keeps note types in ``notetypes`` and their fields in ``fields``."""
    try:
        names = dict(connection.execute("SELECT id, name FROM notetypes").fetchall())
        types: dict[int, tuple[str, list[str]]] = {}
        for ntid, name in connection.execute("SELECT ntid, name FROM fields ORDER BY ntid, ord"):
            types.setdefault(int(ntid), (str(names.get(ntid, "")), []))[1].append(str(name))
        return types
    except sqlite3.Error:
        return {}


def _notes(rows: list[tuple[int, str, str]], note_types: dict[int, tuple[str, list[str]]], member: str
           ) -> SourceNotes:
    source = SourceNotes(kind=f"Anki package ({member})")
    tag_lists = [[t for t in tags.split() if t.casefold() not in ANKI_STATE_TAGS] for _, tags, _ in rows]
    everywhere = {tag for tag, count in Counter(t for tags in tag_lists for t in set(tags)).items()
                  if count == len(rows)}
    used_types: dict[int, None] = {}
    for number, ((mid, _, flds), tags) in enumerate(zip(rows, tag_lists), 1):
        used_types.setdefault(mid)
        note = _note(source, f"note {number}", flds.split(_FIELD_SEPARATOR), tags, everywhere)
        if note is not None:
            source.notes.append(note)
    source.mapping = [_describe_type(note_types.get(mid)) for mid in used_types]
    source.mapping.append("Tags → topic (a note's first tag that not every note has) and keywords (all its tags)")
    return source


def _note(source: SourceNotes, where: str, fields: list[str], tags: list[str], everywhere: set[str]
          ) -> Note | None:
    if len(fields) < 2:
        source.skipped.append(Skip(where, "the note has one field; a card needs a front and a back"))
        return None
    front, back = html_to_markdown(fields[0]), html_to_markdown(fields[1])
    question, answer = front.markdown, back.markdown
    short = ""
    if _CLOZE.search(question):  # a cloze note: its text with the gaps is the question, filled in the answer
        short = " · ".join(m.group(1).strip() for m in _CLOZE.finditer(question))
        filled = _CLOZE.sub(lambda m: f"**{m.group(1).strip()}**", question)
        answer = f"{filled}\n\n{answer}" if answer else filled
        question = _CLOZE.sub(lambda m: f"[{m.group(2).strip() if m.group(2) else '…'}]", question)
    media = front.media + back.media
    if media:
        source.warnings.append(f"{where}: media skipped ({', '.join(media)}); decks hold text only")
    for text, side in ((question, "question (first field)"), (answer, "answer (second field)")):
        if not text:
            held = f" once media is left out (it held {', '.join(media)})" if media else ""
            source.skipped.append(Skip(where, f"the {side} is empty{held}"))
            return None
    topic_tag = next((t for t in tags if t not in everywhere), tags[0] if tags else "")
    return Note(where=where, question=question, answer=answer, topic=_tag_name(topic_tag),
                keywords=tuple(_tag_name(t) for t in tags), short_answer=short)


def _tag_name(tag: str) -> str:
    """A tag as people read it: ``Geo::Europe_capitals`` is "Geo / Europe capitals"."""
    return " / ".join(part.replace("_", " ").strip() for part in tag.split("::") if part.strip())


def _describe_type(note_type: tuple[str, list[str]] | None) -> str:
    if note_type is None:
        return "Note fields: field 1 → question, field 2 → answer"
    name, fields = note_type
    mapped = ", ".join(f"{field!r} → {role}" for field, role in zip(fields, ("question", "answer")))
    ignored = f"; ignored fields: {', '.join(repr(f) for f in fields[2:])}" if fields[2:] else ""
    return f"Note type {name!r}: {mapped}{ignored}"
