"""Flashcards from CSV and TSV files, whose header row names the columns.

Spreadsheets and flashcard apps name their columns in many ways ("Front", "Term",
"Correct answer", "Option A"), so headers are matched loosely: case, spaces, ``_`` and ``-`` do
not matter, and common synonyms are known. Anki's own "Notes in Plain Text" export (``#separator:``
lines, no header row) is read too: its first field is the question, its second the answer.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.kb.importing.html_markdown import html_to_markdown, looks_like_html
from bot.kb.importing.notes import ImportRefused, Note, Skip, SourceNotes

# Column role -> header names it answers to (after normalising: casefolded, single spaces).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "question": ("question", "questions", "front", "front side", "card front", "prompt", "term", "word",
                 "question text", "text"),
    "answer": ("answer", "answers", "back", "back side", "card back", "definition", "meaning", "response",
               "translation", "answer text"),
    "topic": ("topic", "topics", "category", "subject", "section", "chapter", "group"),
    "tags": ("tag", "tags"),
    "choices": ("choices", "options", "alternatives", "answer choices", "answer options"),
    "wrong": ("wrong", "wrong answer", "wrong answers", "distractor", "distractors", "incorrect",
              "incorrect answer", "incorrect answers"),
    "correct": ("correct", "correct answer", "correct choice", "correct option", "right answer", "key",
                "answer key", "solution"),
    "explanation": ("explanation", "why", "rationale", "reason", "notes", "note", "extra", "back extra",
                    "comment", "comments"),
}
_BY_NAME = {name: role for role, names in SYNONYMS.items() for name in names}
# "Choice 1", "option_b", "Alternative C": one choice per column, in header order.
_NUMBERED_CHOICE = re.compile(r"^(?:choice|option|alternative|answer) ?([1-5a-e])$")
_NUMBERED_WRONG = re.compile(r"^(?:wrong|distractor|incorrect)(?: answer)? ?[1-5]$")
_SPLIT_CHOICES = re.compile(r"\s*(?:\||\n)\s*")
_SEPARATORS = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " ", "colon": ":"}
_ROLES_IN_ORDER = ("question", "answer", "topic", "tags", "choices", "wrong", "correct", "explanation")


@dataclass
class _Columns:
    """Which column index holds which role; several for numbered choice and wrong-answer columns."""

    single: dict[str, int] = field(default_factory=dict)
    choices: list[int] = field(default_factory=list)
    wrong: list[int] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    html: bool = False  # Anki's "#html:true": every cell is HTML


def read_csv(path: Path, data: bytes) -> SourceNotes:
    """The notes of a CSV or TSV file.

    Raises:
        ImportRefused: the file is empty, not text, not valid CSV or lacks the needed columns.
    """
    text = _decode(path, data)
    lines = text.splitlines(keepends=True)
    directives = _anki_directives(lines)
    body = "".join(lines[len(directives):])
    if not body.strip():
        raise ImportRefused(f"{path}: no rows" + (" below the #directives" if directives else "")
                            + "; export the cards again or choose another file")
    delimiter = _delimiter(path, body, directives)
    rows = [(row, line + len(directives)) for row, line in _rows(path, body, delimiter)]
    if "separator" in directives:
        header = _anki_header(directives, max(len(r) for r, _ in rows), delimiter)
        kind = "Anki plain-text export"
    else:
        (header, _), rows = rows[0], rows[1:]
        kind = "TSV" if delimiter == "\t" else f"CSV ({_delimiter_name(delimiter)}-separated)"
    columns = _map_columns(path, header)
    if not rows:
        raise ImportRefused(f"{path}: only a header row, no cards below it")
    columns.html = directives.get("html", "").lower() == "true"
    source = SourceNotes(kind=kind, mapping=_describe(header, columns))
    for row, line in rows:
        _read_row(source, columns, row, line, len(header))
    return source


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise ImportRefused(f"{path}: the file is empty; export the cards again or choose another file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text" is UTF-16 with a BOM
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ImportRefused(f"{path}: broken UTF-16 text ({exc.reason}); save it as CSV UTF-8") from None
    if data.startswith(b"PK\x03\x04"):
        raise ImportRefused(f"{path}: this is a zip archive (an Excel workbook or an Anki package?), not CSV "
                            "text; save it as CSV UTF-8, or give an Anki package a .apkg name")
    if b"\x00" in data[:4096]:
        raise ImportRefused(f"{path}: binary data, not CSV text; save the cards as CSV UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRefused(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                            "save it as CSV UTF-8 (Excel: File › Save As › CSV UTF-8) and import again") from None


def _anki_directives(lines: list[str]) -> dict[str, str]:
    """Anki's header lines (``#separator:tab``, ``#html:true``, ``#tags column:3``), in file order."""
    directives: dict[str, str] = {}
    for line in lines:
        match = re.match(r"^#([a-z ]+):(.*)$", line.rstrip("\r\n"))
        if not match:
            break
        directives[match.group(1).strip()] = match.group(2).strip()
    return directives


def _delimiter(path: Path, body: str, directives: dict[str, str]) -> str:
    if "separator" in directives:
        value = directives["separator"]
        return _SEPARATORS.get(value.lower(), value[:1] or "\t")
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    header = next(line for line in body.splitlines() if line.strip())
    first = re.sub(r'"[^"]*"', "", header)  # a quoted header may hold any separator
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _delimiter_name(delimiter: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}.get(delimiter, repr(delimiter))


def _rows(path: Path, body: str, delimiter: str) -> list[tuple[list[str], int]]:
    """Non-blank rows with the line each starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[list[str], int]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            if any(cell.strip() for cell in row):
                rows.append((row, start))
    except csv.Error as exc:
        raise ImportRefused(f"{path}: not valid CSV near line {reader.line_num}: {exc}; check the quotes "
                            "around cells that hold the separator or line breaks") from None
    if not rows:
        raise ImportRefused(f"{path}: no rows; export the cards again or choose another file")
    return rows


def _anki_header(directives: dict[str, str], width: int, delimiter: str) -> list[str]:
    """Column names for an Anki text export: its #columns line, or field 1 = question, 2 = answer."""
    if "columns" in directives:
        return [name.strip() for name in directives["columns"].split(delimiter)]
    special = {}
    for key, role in (("tags column", "tags"), ("guid column", "guid"), ("notetype column", "notetype"),
                      ("deck column", "deck")):
        if directives.get(key, "").isdigit():
            special[int(directives[key]) - 1] = role
    fields = iter(("question", "answer"))
    return [special.get(i) or next(fields, f"field {i + 1}") for i in range(width)]


def _normal(name: str) -> str:
    return " ".join(re.sub(r"[_\-.:]+", " ", name).casefold().split())


def _map_columns(path: Path, header: list[str]) -> _Columns:
    columns = _Columns()
    for i, raw in enumerate(header):
        name = _normal(raw)
        role = _BY_NAME.get(name)
        if _NUMBERED_CHOICE.match(name):
            columns.choices.append(i)
        elif _NUMBERED_WRONG.match(name):
            columns.wrong.append(i)
        elif role == "choices" and not columns.choices:
            columns.single["choices"] = i
        elif role and role not in columns.single:
            columns.single[role] = i
        elif raw.strip():
            columns.ignored.append(raw.strip())
    if "choices" in columns.single:
        columns.choices.insert(0, columns.single.pop("choices"))
    if "wrong" in columns.single:
        columns.wrong.insert(0, columns.single.pop("wrong"))
    if "topic" in columns.single and "tags" in columns.single:
        columns.ignored.append(header[columns.single.pop("tags")].strip())
    found = ", ".join(repr(h.strip()) for h in header if h.strip()) or "none"
    if "question" not in columns.single:
        raise ImportRefused(f"{path}: no question column (columns: {found}); name one 'question' or 'front'")
    if "answer" not in columns.single and "correct" not in columns.single:
        raise ImportRefused(f"{path}: no answer column (columns: {found}); name one 'answer' or 'back'")
    return columns


def _describe(header: list[str], columns: _Columns) -> list[str]:
    """One line saying which column became what, and one naming the columns left out."""
    parts = [f"{header[i].strip()!r} → {role}" for role in _ROLES_IN_ORDER
             for i in ([columns.single[role]] if role in columns.single else [])]
    parts += [f"{header[i].strip()!r} → choice" for i in columns.choices]
    parts += [f"{header[i].strip()!r} → wrong choice" for i in columns.wrong]
    lines = ["Columns: " + ", ".join(parts)]
    if columns.ignored:
        lines.append("Ignored columns: " + ", ".join(repr(name) for name in columns.ignored))
    return lines


def _read_row(source: SourceNotes, columns: _Columns, row: list[str], line: int, width: int) -> None:
    where = f"line {line}"
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        reason = f"has {len(row)} cells but the header has {width}; quote cells that hold the separator"
        source.skipped.append(Skip(where, reason))
        return
    media: list[str] = []

    def cell(index: int | None) -> str:
        value = row[index].strip() if index is not None and index < len(row) else ""
        if value and (columns.html or looks_like_html(value)):
            converted = html_to_markdown(value)
            media.extend(converted.media)
            return converted.markdown
        return value

    get = columns.single.get
    question, answer, correct = cell(get("question")), cell(get("answer")), cell(get("correct"))
    choices = [c for i in columns.choices for c in _SPLIT_CHOICES.split(cell(i)) if c]
    wrong = [c for i in columns.wrong for c in _SPLIT_CHOICES.split(cell(i)) if c]
    if wrong:  # "correct + wrong answers" layout: the right one is the answer (or the correct column)
        correct = correct or answer
        choices = [correct, *choices, *wrong] if correct and correct not in choices else choices + wrong
    tags = cell(get("tags")).replace(",", " ").split()
    topic = cell(get("topic")) or (tags[0] if tags else "")
    if media:
        source.warnings.append(f"{where}: media skipped ({', '.join(media)}); decks hold text only")
    if not question:
        source.skipped.append(Skip(where, "the question is empty"))
        return
    if not answer and not (choices and correct):
        source.skipped.append(Skip(where, "the answer is empty"))
        return
    source.notes.append(Note(where=where, question=question, answer=answer, topic=topic, keywords=tuple(tags),
                             choices=tuple(choices), correct=correct, explanation=cell(get("explanation"))))
