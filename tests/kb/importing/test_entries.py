"""Entry ids that survive re-import, and the quiz card made for a plain flashcard."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.kb.importing.cards import CHOICE_LIMIT, SCAN_ALL, as_choice
from bot.kb.importing.entries import build_entries, slugify
from bot.kb.importing.notes import Note
from bot.kb.loader import ID_PATTERN, MAX_ID
from tests.kb.importing.sources import imported, write


def _notes(*pairs: tuple[str, str], topic: str = "") -> list[Note]:
    return [Note(where=f"line {i}", question=q, answer=a, topic=topic) for i, (q, a) in enumerate(pairs, 2)]


@pytest.mark.parametrize(("text", "slug"), [
    ("What is the capital of France?", "what-is-the-capital-of-france"),
    ("Qu'est-ce qu'un «café» crème?", "qu-est-ce-qu-un-cafe-creme"),
    ("What does `tf.function` do, and why would you use it in TensorFlow 2?", "what-does-tf-function-do-and-why-would"),
    ("Supercalifragilisticexpialidocious-and-more-and-more-and-more", "supercalifragilisticexpialidocious-and"),
    ("x" * 50, "x" * 40),
    ("日本語", ""),
])
def test_slugs_are_valid_ids_cut_between_words(text: str, slug: str) -> None:
    assert slugify(text) == slug
    assert len(slug) <= MAX_ID
    assert not slug or ID_PATTERN.match(slug)


def test_ids_are_unique_valid_and_hashed_only_on_collision() -> None:
    built = build_entries(_notes(("What is X?", "a"), ("What is X!", "b"), ("日本語", "c"), ("中文", "d"),
                                 ("What is the difference between a list and a tuple in Python 3?", "e")))
    ids = [str(e["id"]) for e in built.entries]
    assert ids[0] == "what-is-x"
    assert ids[1].startswith("what-is-x-") and len(ids[1]) == len("what-is-x-") + 6
    assert ids[2].startswith("entry-") and ids[3].startswith("entry-") and ids[2] != ids[3]
    assert len(set(ids)) == 5
    assert all(ID_PATTERN.match(i) and len(i) <= MAX_ID for i in ids)


def test_ids_do_not_depend_on_the_other_notes_in_the_file() -> None:
    first = build_entries(_notes(("Alpha?", "1"), ("Beta?", "2"), ("Gamma?", "3")))
    later = build_entries(_notes(("New card?", "0"), ("Gamma?", "3"), ("Beta?", "2"), ("Alpha?", "1")))
    ids = {str(e["question"]): e["id"] for e in later.entries}
    assert all(ids[str(e["question"])] == e["id"] for e in first.entries)


def test_reimporting_the_same_file_gives_the_same_deck(tmp_path: Path) -> None:
    source = write(tmp_path / "cards.csv", "front,back\n" + "".join(f"Question {i}?,Answer {i}\n" for i in range(12)))
    _, once = imported(source, out=tmp_path / "deck")
    text = (tmp_path / "deck" / "entries.yaml").read_text()
    _, again = imported(source, out=tmp_path / "deck", force=True)
    assert again == once
    assert (tmp_path / "deck" / "entries.yaml").read_text() == text


def test_plain_flashcards_get_a_card_with_other_answers_as_wrong_choices() -> None:
    notes = _notes(("hola", "hello"), ("adiós", "goodbye"), ("gracias", "thank you"), ("perro", "dog"),
                   ("gato", "cat"), topic="words")
    built = build_entries(notes)
    assert built.generated == 5 and built.short == 0
    for entry in built.entries:
        card = entry["quiz"][0]  # type: ignore[index]
        texts = [c["text"] for c in card["choices"]]
        assert len(texts) == 4 and len(set(texts)) == 4
        assert [c["text"] for c in card["choices"] if c.get("correct")] == [entry["answer"]]
        assert card["prompt"] == entry["question"]
    positions = {[c.get("correct", False) for c in e["quiz"][0]["choices"]].index(True)  # type: ignore[index]
                 for e in built.entries}
    assert len(positions) > 1  # the right answer is not always in the same place


def test_wrong_choices_come_from_the_same_topic_first() -> None:
    notes = [Note("line 2", "red?", "rojo", topic="colours"), Note("line 3", "blue?", "azul", topic="colours"),
             Note("line 4", "green?", "verde", topic="colours"), Note("line 5", "black?", "negro", topic="colours"),
             Note("line 6", "dog?", "perro", topic="animals"), Note("line 7", "cat?", "gato", topic="animals")]
    built = build_entries(notes)
    red = built.entries[0]["quiz"][0]  # type: ignore[index]
    assert sorted(c["text"] for c in red["choices"]) == ["azul", "negro", "rojo", "verde"]


def test_a_long_answer_turns_the_card_around() -> None:
    long = "A paragraph that explains at length. " * 5
    assert len(long) > CHOICE_LIMIT
    built = build_entries(_notes(("What is a closure?", long), ("What is a decorator?", "a function wrapper"),
                                 ("What is a generator?", "```python\nyield 1\n```")))
    card = built.entries[0]["quiz"][0]  # type: ignore[index]
    assert card["prompt"].startswith("Which question does this answer?\n\nA paragraph")
    assert [c["text"] for c in card["choices"] if c.get("correct")] == ["What is a closure?"]
    code = built.entries[2]["quiz"][0]  # type: ignore[index]
    assert [c["text"] for c in code["choices"] if c.get("correct")] == ["What is a generator?"]
    # The short answer has no other short answer beside it, so its card is turned around too.
    lonely = built.entries[1]["quiz"][0]  # type: ignore[index]
    assert [c["text"] for c in lonely["choices"] if c.get("correct")] == ["What is a decorator?"]


def test_too_few_notes_for_wrong_choices_are_reported() -> None:
    lonely = build_entries(_notes(("Only card?", "only answer")))
    assert lonely.entries == []
    assert [str(s) for s in lonely.skipped] == [
        "line 2: no other entry has a different short answer to offer as a wrong choice; import more cards "
        "together, or give this one choices"]
    pair = build_entries(_notes(("One?", "1"), ("Two?", "2")))
    assert pair.generated == 2 and pair.short == 2


def test_both_sides_too_long_is_skipped() -> None:
    long = "word " * 40
    built = build_entries(_notes((long + "?", long), ("short?", "short"), ("tiny?", "tiny")))
    assert [s.where for s in built.skipped] == ["line 2"]
    assert "both too long to be a choice" in built.skipped[0].reason


def test_exact_duplicates_keep_the_first() -> None:
    built = build_entries(_notes(("Same?", "yes"), ("same? ", "YES"), ("Other?", "no")))
    assert [str(s) for s in built.skipped] == ["line 3: same question as line 2 (kept the first)"]


def test_texts_over_the_loaders_limits_are_cut_where_a_card_repeats_them_and_skipped_where_not(
        tmp_path: Path) -> None:
    long_answer = "```python\n" + "x = 1\n" * 400 + "```"  # 2,400 characters of code
    text = ("question,answer,choices,correct,tags\n"
            f'"Long?","{long_answer}",,,{"k" * 150} short\n'
            f'"{"Why " * 150}?",a,,,\n'
            f'"Huge choice?",b,"{"c" * 400}|d",d,\n'
            'Short?,short,,,\nTiny?,tiny,,,\n')
    report, deck = imported(write(tmp_path / "long.csv", text))
    entry = deck.entry("long")
    assert entry is not None and entry.answer == long_answer
    assert entry.keywords == ("short",)  # the 150-character tag is over the keyword limit
    assert len(entry.quiz[0].prompt) <= 1000 and entry.quiz[0].prompt.endswith("…")
    assert [str(s) for s in report.skipped] == [
        "line 404: the question is 601 characters long; a deck allows 500 (shorten it)",
        "line 405: a choice is 400 characters long; a deck allows 300",
    ]


def test_large_imports_draw_wrong_choices_by_hashed_picks_the_same_way_each_time() -> None:
    notes = _notes(*((f"Word {i}?", f"meaning {i}") for i in range(SCAN_ALL * 3)), topic="words")
    first, second = build_entries(notes), build_entries(list(notes))
    assert first.entries == second.entries
    assert first.generated == SCAN_ALL * 3 and first.short == 0
    wrong = {c["text"] for e in first.entries for c in e["quiz"][0]["choices"]  # type: ignore[index]
             if not c.get("correct")}
    assert len(wrong) > SCAN_ALL  # picks spread over the whole group, not its first few entries


@pytest.mark.parametrize(("markdown", "choice"), [
    ("**cat**", "cat"), ("*it* and **bold**", "it and bold"), ("2 * 3 * 4", "2 * 3 * 4"), ("`x = 1`", "`x = 1`"),
    ("line one\n\nline two", "line one · line two"), ("- a\n- b", "a · b"), ("```\ncode\n```", None),
    ("| a | b |", None), ("word " * 30, None),
])
def test_answers_as_choices_are_one_plain_line(markdown: str, choice: str | None) -> None:
    assert as_choice(markdown) == choice


def test_a_question_that_is_only_a_code_fence_is_skipped() -> None:
    built = build_entries(_notes(("```", "a"), ("```\ncode\n```", "b"), ("Other?", "c")))
    assert [str(s) for s in built.skipped] == ["line 2: the question has no words outside its code fences"]
    assert built.entries[0]["question"] == "code"
