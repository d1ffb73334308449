"""Meaning for lookup: the bundled WordLlama model loads offline, and lookup survives without it."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest

from bot.kb import deck_index, meaning
from bot.kb.deck_index import DeckIndex
from bot.kb.search import SearchIndex, Tuning
from tests.kb.devset_eval import DevDeck, dev_decks


@pytest.fixture(scope="module")
def dev() -> dict[str, DevDeck]:
    """The dev decks by name, with their own queries (no chat), loaded once for this module (~1 s)."""
    return {d.deck.name: d for d in dev_decks(with_chat=False)}


def test_the_bundled_model_reads_offline_and_puts_paraphrases_closer() -> None:
    model = meaning.meanings()
    assert model is not None
    asked, right, wrong = model.vectors([
        "each customer shows up several times once I bring in their orders",
        "Why does my join return duplicate rows?",
        "How should I paginate query results?",
    ])
    assert np.linalg.norm(asked) == pytest.approx(1.0, abs=1e-5)
    assert asked @ right > asked @ wrong


def test_a_text_without_tokens_has_a_zero_vector() -> None:
    model = meaning.meanings()
    assert model is not None
    assert not model.vectors([""]).any()


def test_without_the_model_lookup_warns_once_and_ranks_by_words(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture,
                                                               dev: dict[str, DevDeck]) -> None:
    monkeypatch.setattr(meaning.importlib.util, "find_spec", lambda name: None)
    meaning.meanings.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.kb.meaning"):
            assert meaning.meanings() is None
            assert meaning.meanings() is None
        assert [r.getMessage() for r in caplog.records] == [
            "lookup ranks by words only: WordLlama's bundled model was not found "
            "(pip install 'wordllama>=0.4,<0.5')"]
        sql = dev["sql"].deck
        query = "each customer shows up several times once I bring in their orders"
        without_model = SearchIndex([sql]).rank(query)
        meaning.meanings.cache_clear()
        monkeypatch.undo()
        words_only = SearchIndex([sql], Tuning(meaning_weight=0.0)).rank(query)
        assert [m.entry.id for m in without_model] == [m.entry.id for m in words_only]
    finally:
        meaning.meanings.cache_clear()


def test_meaning_reorders_a_paraphrase_that_words_alone_miss(dev: dict[str, DevDeck]) -> None:
    sql = dev["sql"].deck
    query = "each customer shows up several times once I bring in their orders"
    words_only = SearchIndex([sql], Tuning(meaning_weight=0.0)).rank(query)
    with_meaning = SearchIndex([sql]).rank(query)
    assert words_only[0].entry.id != "join-duplicate-rows"
    assert with_meaning[0].entry.id == "join-duplicate-rows"


def test_a_question_goes_to_the_deck_that_means_it_not_the_one_with_more_of_its_words(
        dev: dict[str, DevDeck]) -> None:
    both = [dev["python"].deck, dev["tensorflow"].deck]
    query = ("after I split models.py and services.py the app won't start: 'cannot import name User from "
             "partially initialized module'. both files need stuff from each other. how do I untangle this?")
    # Words alone: no routing by meaning, and no word read as a deck's nearest word in meaning either.
    by_words = SearchIndex(both, Tuning(route_meaning=0.0, meaning_neighbour=1.0)).search(query)
    assert by_words.best is not None and by_words.best.entry.deck == "tensorflow"
    routed = SearchIndex(both).search(query)
    assert routed.answered and routed.best is not None
    assert (routed.best.entry.deck, routed.best.entry.id) == ("python", "circular-import")


def test_vectors_are_the_same_before_and_after_the_table_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    model = meaning.meanings()
    assert model is not None
    texts = ["Why does my join return duplicate rows?", "eager execution in TensorFlow 2.x", "naïve café 🙂"]
    fresh = pickle.loads(pickle.dumps(model))  # a table read from its float16 file, as a kept index has it
    before = fresh.vectors(texts)
    assert isinstance(fresh._table, np.memmap)
    monkeypatch.setattr(meaning, "CONVERT_AFTER", fresh._vectors + 1)
    fresh.vectors(["one more"])
    assert not isinstance(fresh._table, np.memmap) and fresh._table.dtype == np.float32
    fresh._words.clear()
    assert np.array_equal(fresh.vectors(texts), before)


def test_word_vectors_are_unit_rows_and_near_words_are_near() -> None:
    model = meaning.meanings()
    assert model is not None
    mute, silence, invoice, nothing = model.word_vectors(["mute", "silence", "invoice", ""])
    assert mute.shape == (meaning.WORD_DIMENSIONS,)
    assert np.linalg.norm(mute) == pytest.approx(1.0, abs=1e-5)
    assert mute @ silence > mute @ invoice
    assert not nothing.any()


def test_a_questions_word_vectors_are_remembered_and_equal_the_ones_worked_out() -> None:
    model = meaning.meanings()
    assert model is not None
    words = ["mute", "the", "alarm", "mute"]
    first = model.question_word_vectors(words)
    assert set(words) <= set(model._word_units)
    assert np.array_equal(first, model.word_vectors(words))
    assert np.array_equal(model.question_word_vectors(words), first)  # read back from memory


def test_near_words_rank_a_paraphrase_that_exact_words_alone_miss(dev: dict[str, DevDeck]) -> None:
    agile = dev["agile"].deck
    query = "what's the meeting at the end of the iteration where we talk about how we worked together"
    assert SearchIndex([agile], Tuning(soft_coverage=0.0)).rank(query)[0].entry.id != "retro-purpose"
    assert SearchIndex([agile]).rank(query)[0].entry.id == "retro-purpose"


def test_soft_coverage_is_a_share_and_an_entry_holding_every_word_has_all_of_it(dev: dict[str, DevDeck]) -> None:
    agile = dev["agile"].deck
    index = DeckIndex(agile, Tuning())
    at = next(i for i, e in enumerate(agile.entries) if e.id == "retro-purpose")
    everyone = np.arange(len(agile.entries))
    soft = index._soft_coverage(agile.entries[at].question, everyone)
    assert soft is not None and soft.min() >= 0.0 and soft[at] == pytest.approx(1.0, abs=1e-5)
    assert index._soft_coverage("what is the", everyone) is None  # no word that tells anything


def test_a_word_table_that_starts_over_when_full_scores_as_one_that_never_does(monkeypatch: pytest.MonkeyPatch,
                                                                               dev: dict[str, DevDeck]) -> None:
    agile = dev["agile"]
    queries = [str(c["q"]) for c in agile.cases[:40]]
    everyone = np.arange(len(agile.deck.entries))
    whole = DeckIndex(agile.deck, Tuning())
    monkeypatch.setattr(deck_index, "MEANINGS_AT_BUILD", 0)  # words worked out as candidates are met
    monkeypatch.setattr(deck_index, "WORD_VECTORS_KEPT", 600)  # a few entries' words: it starts over often
    bounded = DeckIndex(agile.deck, Tuning())
    for query in queries:
        for candidates in (everyone[:8], everyone[::-5], everyone[-10:]):
            expected, got = whole._soft_coverage(query, candidates), bounded._soft_coverage(query, candidates)
            assert (expected is None) == (got is None)
            if expected is not None and got is not None:
                assert np.allclose(expected, got, atol=1e-6), query
    assert len(bounded._word_rows) <= 600
