"""The lookup engine: quality floors on the dev set, and the behaviours people rely on."""

from __future__ import annotations

import pytest

from bot.kb import search
from bot.kb.library import Library, load_library
from bot.kb.model import Choice, Deck, Entry, QuizCard
from bot.kb.search import SearchIndex
from tests.kb.devset_eval import evaluate, load_devset


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def test_devset_is_big_and_varied_enough() -> None:
    cases = load_devset()
    kinds = {c["kind"] for c in cases}
    off_topic = sum(c["id"] is None for c in cases)
    assert len(cases) >= 150
    assert {"paraphrase", "typo", "keywords", "term", "long", "offtopic"} <= kinds
    assert 0.10 <= off_topic / len(cases) <= 0.20


def test_devset_quality_floors(library: Library) -> None:
    score = evaluate(library, load_devset())
    summary = (f"decision {score.decision_accuracy:.1%} top-1 {score.top1_rate:.1%} "
               f"top-3 {score.top3_rate:.1%}\n" + "\n".join(score.misses))
    assert score.decision_accuracy >= 0.90, summary
    assert score.top1_rate >= 0.92, summary
    assert score.top3_rate >= 0.96, summary


@pytest.mark.parametrize(("query", "expected"), [
    ("wat is eagr execution", "eager-execution"),
    ("GAN", "gans"),
    ("tfx", "tfx"),
    ("dropout overfitting", "handling-overfitting"),
    ("how do I stop my model memorizing the training set", "handling-overfitting"),
    ("ＴＥＮＳＯＲＦＬＯＷ  ＬＩＴＥ", "tf-lite"),
])
def test_answers_typos_acronyms_keywords_and_paraphrases(library: Library, query: str, expected: str) -> None:
    result = library.search(query)
    assert result.answered
    assert result.matches[0].entry.id == expected


@pytest.mark.parametrize("query", ["how do I center a div", "best pizza in town", "xgboost vs lightgbm",
                                   "xyzzy plugh"])
def test_declines_what_the_deck_does_not_cover(library: Library, query: str) -> None:
    assert not library.search(query).answered


@pytest.mark.parametrize("query", ["", "   ", "what is the", "???"])
def test_empty_or_stopword_only_queries_match_nothing(library: Library, query: str) -> None:
    result = library.search(query)
    assert not result.answered and result.matches == ()


def test_scores_are_ranked_and_bounded(library: Library) -> None:
    result = library.search("learning rate schedule", top=5)
    scores = [m.score for m in result.matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    assert len(scores) == 5


def _deck(name: str, question: str) -> Deck:
    card = QuizCard(id=f"{name}/e/q1", entry_id="e", deck=name, topic="t", prompt="p",
                    choices=(Choice("a", True), Choice("b")), explanation="x")
    entry = Entry(id="e", deck=name, topic="t", question=question, answer="An answer.", quiz=(card,))
    return Deck(name=name, title=name, description="", topics={"t": "Topic"}, entries=(entry,),
                synonyms={"k8s": "kubernetes"})


def test_deck_filter_and_deck_synonyms() -> None:
    index = SearchIndex([_deck("ops", "How do kubernetes pods restart?"), _deck("web", "How do pods of whales swim?")])
    assert index.search("k8s pods restart").matches[0].entry.deck == "ops"
    assert [m.entry.deck for m in index.search("pods", deck="web").matches] == ["web"]


def test_empty_index_answers_nothing() -> None:
    assert SearchIndex([]).search("anything").matches == ()


def test_indexing_in_chunks_gives_the_same_rankings(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large decks are tokenized a chunk of entries at a time; chunk edges must not move words between entries."""
    queries = [case["q"] for case in load_devset()[:60]]
    whole = [library.search(q, top=5) for q in queries]
    monkeypatch.setattr(search, "CHUNK", 3)
    chunked = SearchIndex(library.decks)
    assert [chunked.search(q, top=5) for q in queries] == whole


def test_accents_and_control_characters_in_deck_text() -> None:
    first, second = _deck("x", "Why is the caf\u00e9 na\u00efve\x01kettle Stra\u00dfe?"), _deck("y", "What are pods?")
    index = SearchIndex([first, second])
    assert [m.entry.deck for m in index.search("cafe naive strasse").matches] == ["x"]
    # The control character stays inside its entry instead of shifting words into the next one.
    assert [m.entry.deck for m in index.search("kettle").matches] == ["x"]
    assert [m.entry.deck for m in index.search("pods").matches] == ["y"]
