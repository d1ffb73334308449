"""CSV and TSV files: loose header names, choices in several layouts, broken files refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.importing import ImportRefused
from tests.kb.importing.sources import imported, write

CAPITALS = "France,Paris\nSpain,Madrid\nJapan,Tokyo\nPeru,Lima\n"


def _correct(card_choices: tuple) -> str:  # type: ignore[type-arg]
    return next(c.text for c in card_choices if c.correct)


@pytest.mark.parametrize("header", ["question,answer", "Front,Back", "QUESTION , Answer", "term,definition",
                                    "Front_Side,back-side"])
def test_header_names_are_matched_loosely_and_reported(tmp_path: Path, header: str) -> None:
    report, deck = imported(write(tmp_path / "caps.csv", header + "\n" + CAPITALS))
    assert [e.question for e in deck.entries] == ["France", "Spain", "Japan", "Peru"]
    assert [e.answer for e in deck.entries] == ["Paris", "Madrid", "Tokyo", "Lima"]
    first, second = header.split(",")
    assert report.read.mapping[0] == f"Columns: {first.strip()!r} → question, {second.strip()!r} → answer"


def test_tsv_with_topic_and_an_ignored_column(tmp_path: Path) -> None:
    text = "Word\tMeaning\tCategory\tSource\nhola\thello\tgreetings\tbook\nadiós\tgoodbye\tgreetings\tbook\n" \
           "gato\tcat\tanimals\tapp\n"
    report, deck = imported(write(tmp_path / "spanish.tsv", text))
    assert report.read.kind == "TSV"
    assert report.read.mapping == ["Columns: 'Word' → question, 'Meaning' → answer, 'Category' → topic",
                                   "Ignored columns: 'Source'"]
    assert deck.topics == {"greetings": "greetings", "animals": "animals"}
    assert [e.topic for e in deck.entries] == ["greetings", "greetings", "animals"]
    assert deck.entries[1].id == "adios"


def test_semicolon_separated_file_is_recognised(tmp_path: Path) -> None:
    report, deck = imported(write(tmp_path / "c.csv", "\nquestion;answer\n" + CAPITALS.replace(",", ";")))
    assert report.read.kind == "CSV (semicolon-separated)"
    assert len(deck.entries) == 4


def test_choices_column_with_correct_as_text_number_or_letter(tmp_path: Path) -> None:
    text = ("question,choices,correct,explanation\n"
            "Largest planet?,Mars|Jupiter|Venus,Jupiter,It is a gas giant.\n"
            "Smallest planet?,Mercury|Mars|Earth,1,\n"
            "Red planet?,Venus|Mars,B,Iron oxide.\n")
    report, deck = imported(write(tmp_path / "planets.csv", text))
    cards = [e.quiz[0] for e in deck.entries]
    assert [[c.text for c in card.choices] for card in cards] == [
        ["Mars", "Jupiter", "Venus"], ["Mercury", "Mars", "Earth"], ["Venus", "Mars"]]
    assert [_correct(card.choices) for card in cards] == ["Jupiter", "Mercury", "Mars"]
    # No answer column: the entry's answer is the right choice; the explanation falls back to it.
    assert [e.answer for e in deck.entries] == ["Jupiter", "Mercury", "Mars"]
    assert [card.explanation for card in cards] == ["It is a gas giant.", "Mercury", "Iron oxide."]
    assert report.generated == 0


def test_option_columns_with_an_answer_letter(tmp_path: Path) -> None:
    text = ("Question,Option A,Option B,Option C,Option D,Answer\n"
            "2 + 2?,3,4,5,22,B\n"
            "3 * 3?,6,9,33,12,b\n")
    report, deck = imported(write(tmp_path / "maths.csv", text))
    assert "'Option A' → choice" in report.read.mapping[0]
    assert [e.answer for e in deck.entries] == ["4", "9"]
    assert [_correct(e.quiz[0].choices) for e in deck.entries] == ["4", "9"]


def test_wrong_answers_column_joins_the_right_answer(tmp_path: Path) -> None:
    text = "front,back,wrong answers\nCapital of Italy?,Rome,Milan|Turin|Naples\n"
    _, deck = imported(write(tmp_path / "italy.csv", text))
    card = deck.entries[0].quiz[0]
    assert sorted(c.text for c in card.choices) == ["Milan", "Naples", "Rome", "Turin"]
    assert _correct(card.choices) == "Rome"


def test_rows_that_cannot_make_a_card_are_skipped_with_the_reason(tmp_path: Path) -> None:
    text = ("question,answer,choices,correct\n"
            "Good?,yes,yes|no,yes\n"
            "Unknown right one?,,a|b|c,d\n"
            "Too many?,,a|b|c|d|e|f,a\n"
            "Twice?,,same|Same,same\n"
            ",orphan answer,,\n"
            "No answer?,,,\n"
            "Unquoted, comma,answer,,,extra\n")
    report, deck = imported(write(tmp_path / "mixed.csv", text))
    assert [e.question for e in deck.entries] == ["Good?"]
    assert [str(s) for s in report.skipped] == [
        "line 3: the correct answer 'd' is none of the choices ('a', 'b', 'c'); give its text, number or letter",
        "line 4: has 6 choice(s); a card needs 2 to 5",
        "line 5: two choices read the same ('Same')",
        "line 6: the question is empty",
        "line 7: the answer is empty",
        "line 8: has 6 cells but the header has 4; quote cells that hold the separator",
    ]


def test_quoted_cells_may_hold_separators_and_line_breaks(tmp_path: Path) -> None:
    text = 'question,answer\n"Why, though?","Because:\n\n- one\n- two"\n' + CAPITALS
    report, deck = imported(write(tmp_path / "q.csv", text))
    assert deck.entries[0].question == "Why, though?"
    assert deck.entries[0].answer == "Because:\n\n- one\n- two"
    assert deck.entries[1].question == "France"
    assert report.read.notes[1].where == "line 6"  # the row after a three-line cell


def test_html_in_cells_is_converted_and_media_reported(tmp_path: Path) -> None:
    text = 'front,back\n"<b>Bold</b> question","line<br>two <img src=""x.png"">"\nPlain < text,x > y\n' + CAPITALS
    report, deck = imported(write(tmp_path / "h.csv", text))
    assert deck.entries[0].question == "**Bold** question"
    assert deck.entries[0].answer == "line\n\ntwo"
    assert deck.entries[1].question == "Plain < text"
    assert report.read.warnings == ["line 2: media skipped (x.png); decks hold text only"]


def test_tags_column_gives_topic_and_keywords(tmp_path: Path) -> None:
    text = "front,back,tags\nhola,hello,spanish greeting\ngato,cat,spanish animal\n"
    _, deck = imported(write(tmp_path / "t.csv", text))
    assert deck.entries[0].topic == "spanish"
    assert deck.entries[0].keywords == ("spanish", "greeting")


def test_utf16_text_from_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.txt"
    path.write_bytes(("question\tanswer\n" + CAPITALS.replace(",", "\t")).encode("utf-16"))
    _, deck = imported(path)
    assert len(deck.entries) == 4


def test_anki_plain_text_export_without_a_header_row(tmp_path: Path) -> None:
    text = "#separator:tab\n#html:true\n#tags column:3\nBonjour<br>(greeting)\tHello\tfrench::greetings\n" \
           "Chat\tCat\tfrench::animals\nChien\t\tfrench::animals\n"
    report, deck = imported(write(tmp_path / "french.txt", text))
    assert report.read.kind == "Anki plain-text export"
    assert deck.entries[0].question == "Bonjour (greeting)"
    assert deck.entries[0].quiz[0].prompt == "Bonjour\n\n(greeting)"
    assert deck.entries[0].topic == "french-greetings"
    assert [str(s) for s in report.skipped] == ["line 6: the answer is empty"]  # lines of the file, #lines too


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"  \n\n", "the file is empty"),
    (b"question,answer\n", "only a header row"),
    (b"front,notes\nhola,x\n", "no answer column (columns: 'front', 'notes'); name one 'answer' or 'back'"),
    (b"name,back\nx,y\n", "no question column (columns: 'name', 'back'); name one 'question' or 'front'"),
    (b"question,answer\n\"unterminated,x\nrest\n", "not valid CSV near line"),
    (b"question,answer\nca\xe9,latin-1\n", "not UTF-8 text (byte 0xe9 on line 2); save it as CSV UTF-8"),
    (b"PK\x03\x04rest-of-a-zip", "this is a zip archive"),
    (b"question\x00answer\n", "binary data"),
])
def test_broken_files_are_refused_with_one_line_and_nothing_written(tmp_path: Path, content: bytes,
                                                                    message: str) -> None:
    source = tmp_path / "broken.csv"
    source.write_bytes(content)
    with pytest.raises(ImportRefused) as refused:
        imported(source, out=tmp_path / "out" / "deck")
    assert str(refused.value).startswith(f"{source}: ")
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv"]


def test_a_file_where_every_row_is_skipped_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "empty-answers.csv", "question,answer\na,\nb,\n")
    with pytest.raises(ImportRefused, match=r"nothing to import \(2 card\(s\) skipped; first: line 2: the answer "
                                            r"is empty\)"):
        imported(source)
    assert not (tmp_path / "deck").exists()


def test_windows_line_endings_and_a_quoted_header_holding_another_separator(tmp_path: Path) -> None:
    source = tmp_path / "win.csv"
    source.write_bytes('Front;Back;"Source, page"\r\nhola;hello;a\r\ngato;cat;b\r\nperro;dog;c\r\n'.encode("utf-8-sig"))
    report, deck = imported(source)
    assert report.read.kind == "CSV (semicolon-separated)"
    assert report.read.mapping[1] == "Ignored columns: 'Source, page'"
    assert [(e.question, e.answer) for e in deck.entries] == [("hola", "hello"), ("gato", "cat"), ("perro", "dog")]
