"""The lookup engine: quality floors on the dev set, and the behaviours people rely on."""

from __future__ import annotations

import math
import pickle

import pytest

from bot.kb import english, tokens
from bot.kb.deck_index import DeckIndex
from bot.kb.english import max_information
from bot.kb.everyday import deck_threshold, everyday_lines
from bot.kb.library import Library, load_library
from bot.kb.model import Choice, Deck, Entry, QuizCard
from bot.kb.scoring import Case, Same, right_entries
from bot.kb.search import Match, SearchIndex, Tuning
from bot.kb.symbols import symbol_tokens
from bot.kb.text import stem, words
from tests.kb import fit_answer_rule
from tests.kb.devset_eval import DeckScore, DevDeck, chat_cases, dev_decks, evaluate, load_devset, same_concept


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


# Floors a little under what each dev deck measures (README, "How the lookup works"), so they catch
# regressions: (decision, top-1, top-3) per deck, alone.
FLOORS = {
    "tensorflow": (0.97, 0.965, 0.99),
    "accessibility": (0.875, 0.91, 0.98),
    "accounting": (0.855, 0.855, 0.945),
    "agile": (0.81, 0.85, 0.93),
    "android": (0.88, 0.89, 0.955),
    "bikeshop": (0.835, 0.83, 0.95),
    "biolab": (0.815, 0.825, 0.935),
    "carehome": (0.77, 0.78, 0.86),
    "cloud": (0.855, 0.86, 0.935),
    "contracts": (0.86, 0.855, 0.91),
    "css": (0.83, 0.845, 0.95),
    "dataeng": (0.86, 0.86, 0.975),
    "dataviz": (0.85, 0.87, 0.94),
    "django": (0.855, 0.84, 0.93),
    "docker": (0.865, 0.855, 0.945),
    "econ": (0.85, 0.845, 0.93),
    "estateagency": (0.805, 0.805, 0.89),
    "events": (0.84, 0.82, 0.92),
    "expenses": (0.765, 0.815, 0.9),
    "ghactions": (0.83, 0.82, 0.93),
    "git": (0.87, 0.83, 0.935),
    "golang": (0.86, 0.86, 0.945),
    "gym": (0.825, 0.88, 0.92),
    "hotel": (0.785, 0.78, 0.91),
    "http-web": (0.885, 0.88, 0.94),
    "ithelpdesk": (0.76, 0.85, 0.915),
    "javascript": (0.86, 0.865, 0.92),
    "kitchen": (0.83, 0.875, 0.95),
    "kubernetes": (0.875, 0.855, 0.945),
    "linux-shell": (0.87, 0.89, 0.98),
    "marketing": (0.81, 0.805, 0.86),
    "mlbasics": (0.88, 0.86, 0.95),
    "networking": (0.84, 0.815, 0.9),
    "oncall": (0.745, 0.72, 0.87),
    "peopleops": (0.705, 0.745, 0.84),
    "photography": (0.885, 0.905, 0.96),
    "postgres": (0.845, 0.835, 0.93),
    "privacy": (0.82, 0.8, 0.895),
    "productdesign": (0.815, 0.855, 0.945),
    "python": (0.85, 0.85, 0.94),
    "react": (0.835, 0.83, 0.885),
    "retail": (0.745, 0.775, 0.895),
    "rust": (0.89, 0.895, 0.975),
    "sales": (0.8, 0.765, 0.9),
    "school": (0.705, 0.775, 0.885),
    "secaware": (0.775, 0.76, 0.87),
    "sitesafety": (0.795, 0.845, 0.915),
    "spreadsheets": (0.765, 0.765, 0.895),
    "springboot": (0.92, 0.93, 0.98),
    "sql": (0.84, 0.845, 0.925),
    "statistics": (0.875, 0.885, 0.95),
    "styleguide": (0.8, 0.815, 0.93),
    "support": (0.805, 0.795, 0.9),
    "terraform": (0.865, 0.885, 0.925),
    "vetclinic": (0.81, 0.835, 0.91),
    "warehouse": (0.82, 0.835, 0.91),
    "websecurity": (0.855, 0.84, 0.965),
}
CHAT_DECLINED = fit_answer_rule.CHAT_DECLINED


@pytest.fixture(scope="module")
def dev() -> list[DevDeck]:
    return dev_decks()


def _summary(score: DeckScore) -> str:
    o = score.overall
    return f"decision {o.decision:.1%} top-1 {o.top1_rate:.1%} top-3 {o.top3_rate:.1%}\n" + "\n".join(score.misses)


def test_devset_is_big_and_varied_enough() -> None:
    cases = load_devset()
    kinds = {c["kind"] for c in cases}
    off_topic = sum(c["id"] is None for c in cases)
    assert len(cases) >= 150
    assert {"paraphrase", "typo", "keywords", "term", "long", "offtopic"} <= kinds
    assert 0.10 <= off_topic / len(cases) <= 0.20


def test_every_dev_deck_has_a_floor_and_chat_to_decline(dev: list[DevDeck]) -> None:
    assert {d.deck.name for d in dev} == set(FLOORS)
    assert {"tensorflow", "python", "sql"} <= {d.deck.name for d in dev}
    assert len(chat_cases()) >= 50 and all(c["id"] is None for c in chat_cases())


def test_devset_quality_floors(dev: list[DevDeck]) -> None:
    for d in dev:
        score = evaluate(SearchIndex([d.deck]), d.cases, d.deck.name)
        decision, top1, top3 = FLOORS[d.deck.name]
        assert score.overall.decision >= decision, f"{d.deck.name}: {_summary(score)}"
        assert score.overall.top1_rate >= top1, f"{d.deck.name}: {_summary(score)}"
        assert score.overall.top3_rate >= top3, f"{d.deck.name}: {_summary(score)}"
        assert score.kinds["chat"].decision >= CHAT_DECLINED, f"{d.deck.name}: {_summary(score)}"


@pytest.fixture(scope="module")
def samples(dev: list[DevDeck]) -> fit_answer_rule.Samples:
    """Every dev query's and everyday line's answer-rule inputs, collected once for the tests that
    fit the rule (~20 s)."""
    return fit_answer_rule.collect(dev)


def test_leave_one_deck_out_stays_near_the_floors(samples: fit_answer_rule.Samples) -> None:
    """The answer rule refitted on the other decks (weights, and how a deck reads its threshold) does
    about as well on the one left out, and still declines its chat: the rule is not fitted to any
    one deck. Within 1.5 points of the floor: the quantile and margin chosen without a deck move its
    threshold more than one pooled threshold moved (Agile: 81.8% with all decks, 79.6% left out;
    every other deck within 0.3 points)."""
    for name, held in fit_answer_rule.lodo(samples).items():
        assert held.decision >= FLOORS[name][0] - 0.015, f"{name}: {held}"
        assert held.chat_declined >= CHAT_DECLINED, f"{name}: {held}"


def test_the_answer_rule_in_tuning_is_the_one_the_fit_script_finds(samples: fit_answer_rule.Samples) -> None:
    """``Tuning.answer_weights`` decide as what ``python -m tests.kb.fit_answer_rule`` fits on the dev
    decks as they are: a change to ranking that moves the rule asks for a refit, not a stale rule.
    Compared by decisions, not digits, so rounding and a threshold step between equals do not fail it."""
    tuning = Tuning()
    fitted = fit_answer_rule.answers(samples, fit_answer_rule.fit_rule(samples, samples.decks))
    kept = fit_answer_rule.answers(samples, fit_answer_rule.Rule.from_tuning(tuning))
    assert (fitted != kept).mean() <= 0.005


def _same_answer(same: Same, deck: str, case: Case, answer: Match) -> bool:
    """Whether ``answer``, from another deck, is listed as answering the same as ``case``'s entry of ``deck``."""
    return (answer.entry.deck, answer.entry.id) in right_entries(deck, str(case["id"]), same)


def test_a_second_deck_does_not_change_how_the_first_decides(dev: list[DevDeck]) -> None:
    """Each deck decides alone; another deck can only take a question it is more about."""
    tensorflow = next(d for d in dev if d.deck.name == "tensorflow")
    others = [d.deck for d in dev if d is not tensorflow]
    alone, together = SearchIndex([tensorflow.deck]), SearchIndex([tensorflow.deck, *others])
    by_name = {deck.name: SearchIndex([deck]) for deck in others}
    same = same_concept()
    taken = 0
    for case in tensorflow.cases:
        query = str(case["q"])
        mixed = together.search(query)
        if mixed.best is not None and mixed.best.entry.deck == "tensorflow":
            assert mixed == alone.search(query), query
        elif case["id"] is not None:
            # A TensorFlow question answered from another deck is wrong; an off-topic one ("git
            # rebase vs merge") answered by the deck it is about is right, and so is the same
            # answer in another deck's words (``same_concept.yaml``: ML basics' class imbalance).
            taken += (mixed.answered and mixed.best is not None
                      and not _same_answer(same, "tensorflow", case, mixed.best))
        elif case["kind"] == "chat" and mixed.answered:
            # Chat answered from another deck is that deck's own miss (each deck declines 95% of
            # the chat set alone, ``CHAT_DECLINED``): loading decks together must add none. With
            # ten dev decks, their few misses each would add up past any share of this deck's.
            assert by_name[mixed.best.entry.deck].search(query).answered, query
    # Wrong deck, with every dev deck loaded: 5 of 328 with thirty-nine decks, three of them to ML
    # basics, a deck of the same field ("How to fix overfitting?" to its "how can I tell if my model is
    # overfitting"), "constant variable mutable" to the Python deck's mutable and immutable, and "how
    # to prevnt overfiting" to the CSS deck, which reads the slip as "overriding" and means it more
    # than the TensorFlow deck means the misspelt word; 4 of 328 with twenty-seven decks, 1% with
    # twenty-three, before ML basics came.
    assert taken / len(tensorflow.cases) <= 0.02


def test_beside_the_built_in_deck_a_dev_deck_keeps_its_questions(dev: list[DevDeck]) -> None:
    """The targets for a deck loaded beside the built-in one: at most 1% of its queries taken by the
    built-in deck, and decision within 2 points of the deck alone.

    Taken: an on-topic question answered from the TensorFlow deck, unless with its entry on the
    same question (``same_concept.yaml``: ML basics has entries on class imbalance and
    cross-validation too, and "SMOTE" is as well answered by either); or a question the deck should
    decline that the TensorFlow deck answers beside it but not alone. One it answers alone too ("how
    do I serve a sklearn model behind a REST API") is that deck's own miss, not routing's; the
    README's wrong-deck figures count it."""
    tensorflow = next(d for d in dev if d.deck.name == "tensorflow")
    builtin = SearchIndex([tensorflow.deck])
    same = same_concept()
    for d in dev:
        if d is tensorflow:
            continue
        both = SearchIndex([tensorflow.deck, d.deck])
        taken = 0
        for case in d.cases:
            query, result = str(case["q"]), both.search(str(case["q"]))
            if not result.answered or result.best is None or result.best.entry.deck != "tensorflow":
                continue
            if case["id"] is None:
                taken += not builtin.search(query).answered
            else:
                taken += not _same_answer(same, d.deck.name, case, result.best)
        assert taken / len(d.cases) <= 0.01, f"{d.deck.name}: {taken} of {len(d.cases)} taken"
        alone = evaluate(SearchIndex([d.deck]), d.cases, d.deck.name, rank=False)
        beside = evaluate(both, d.cases, d.deck.name, rank=False, same=same)
        assert beside.overall.decision >= alone.overall.decision - 0.02, f"{d.deck.name}: {_summary(beside)}"


def test_an_entry_id_typed_back_is_answered_with_that_entry(dev: list[DevDeck]) -> None:
    """"velocity" is the entry ``velocity``, though ``velocity-as-target`` names velocity in its question too."""
    deck = next(d.deck for d in dev if d.deck.name == "agile")
    result = SearchIndex([deck]).search("velocity")
    assert result.answered and result.matches[0].entry.id == "velocity"


def test_the_deck_field_named_in_a_question_does_not_count_against_answering(dev: list[DevDeck]) -> None:
    """The Agile deck's entries never say "agile"; its title does, so "in agile" is not a word it lacks."""
    deck = next(d.deck for d in dev if d.deck.name == "agile")
    result = SearchIndex([deck]).search("what is a spik in agile")
    assert result.answered and result.matches[0].entry.id == "spike"


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
                                   "xyzzy plugh", "what time is it", "what is a hash map", "B",
                                   "how do I quit emacs"])
def test_declines_what_the_deck_does_not_cover(library: Library, query: str) -> None:
    assert not library.search(query).answered


def test_a_question_of_everyday_words_gets_no_suggestions_but_a_slip_on_a_term_does(library: Library) -> None:
    """A decline offers "did you mean" only when an entry shares a specific word with the question
    (or is clearly closer in meaning than the deck's background): "what time is lunch" once got the
    entry on layer types, which says the bot misunderstood rather than that it does not know."""
    for chat in ("what time is lunch", "what time is it", "anyone up for pizza"):
        result = library.search(chat)
        assert not result.answered and result.matches == (), chat
    slipped = library.search("how to prevnt overfiting")
    assert not slipped.answered and "handling-overfitting" in [m.entry.id for m in slipped.matches]


def test_suggestions_on_declined_questions_across_the_dev_decks(dev: list[DevDeck]) -> None:
    """Of the declined questions with a candidate (every third), the right entry is still suggested
    about as often, and chat far less often, than with suggestions on every decline (measured on
    every query: 67.4 -> 66.3% and 39.1 -> 28.8%; ``search.SUGGESTION_LIFT``)."""
    right = on_topic = chat_suggested = chat = 0
    for d in dev:
        index = SearchIndex([d.deck])
        for case in d.cases[::3]:
            query = str(case["q"])
            result = index.search(query)
            if result.answered or not index.rank(query, top=1):
                continue
            if case["id"] is not None:
                on_topic += 1
                right += any(m.entry.id == case["id"] for m in result.matches)
            elif case["kind"] == "chat":
                chat += 1
                chat_suggested += bool(result.matches)
    assert right / on_topic >= 0.63, right / on_topic
    assert chat_suggested / chat <= 0.33, chat_suggested / chat


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
    monkeypatch.setattr(tokens, "CHUNK", 3)
    chunked = SearchIndex(library.decks)
    assert [chunked.search(q, top=5) for q in queries] == whole


def test_accents_and_control_characters_in_deck_text() -> None:
    first, second = _deck("x", "Why is the caf\u00e9 na\u00efve\x01kettle Stra\u00dfe?"), _deck("y", "What are pods?")
    index = SearchIndex([first, second])
    assert [m.entry.deck for m in index.search("cafe naive strasse").matches] == ["x"]
    # The control character stays inside its entry instead of shifting words into the next one.
    assert [m.entry.deck for m in index.search("kettle").matches] == ["x"]
    assert [m.entry.deck for m in index.search("pods").matches] == ["y"]


def _index(*questions: str, synonyms: dict[str, str] | None = None) -> SearchIndex:
    return _index_of(*(_entry(f"e{i}", q, "An answer.")
                       for i, q in enumerate(questions)), synonyms=synonyms)


def _entry(entry_id: str, question: str, answer: str, aliases: tuple[str, ...] = ()) -> Entry:
    """An entry of deck "d", topic "t"."""
    return Entry(id=entry_id, deck="d", topic="t", question=question, answer=answer, aliases=aliases)


def _index_of(*entries: Entry, synonyms: dict[str, str] | None = None) -> SearchIndex:
    """One deck "d" of these entries (topic "t"), indexed."""
    return SearchIndex([Deck(name="d", title="d", description="", topics={"t": "T"}, entries=entries,
                             synonyms=synonyms or {})])


def _deck_index(index: SearchIndex) -> DeckIndex:
    return index._decks[0]


def test_english_words_are_never_repaired_into_deck_words() -> None:
    deck = _deck_index(_index("How long should I stay?", "How do I make a test?", "Who is the head of action?"))
    for word in ("says", "take", "best", "vacation", "lead"):
        assert [t.term for t in deck.query_terms(word)] == [stem(word)], word


def test_misspelt_deck_words_are_repaired_and_three_letters_only_when_unambiguous() -> None:
    deck = _deck_index(_index("What is a tensor?", "What is a TPU?", "What is a GPU?", "What is a CNN?"))
    assert [t.term for t in deck.query_terms("tensro")] == ["tensor"]
    assert [t.term for t in deck.query_terms("cnm")] == ["cnn"]   # one deck word one edit away
    assert [t.term for t in deck.query_terms("xpu")] == ["xpu"]   # tpu? gpu? left alone
    assert deck.query_terms("wat is") == []                      # a chat spelling of "what" carries nothing


def test_a_deck_word_beats_an_equally_close_stopword_and_swapped_letters_come_first() -> None:
    deck = _deck_index(_index("How do I write a test?", "What is the mode?", "What is the MDE?"))
    assert [t.term for t in deck.query_terms("tets")] == ["test"]  # not "gets", dropped
    assert [t.term for t in deck.query_terms("mdoe")] == ["mode"]  # not "mde": letters swapped
    assert deck.query_terms("wat") == []                          # three letters: "what"


def test_a_repaired_synonym_is_expanded() -> None:
    deck = _deck_index(_index("How big is the MDE?", synonyms={"mde": "minimum detectable effect"}))
    assert {t.term for t in deck.query_terms("mdes")} == {"minimum", "detect", "effect"}


def test_words_are_joined_only_when_the_joined_form_is_meant() -> None:
    deck = _deck_index(_index("Why run away from dropout?", "What does init do?"))
    assert "dropout" in [t.term for t in deck.query_terms("drop out")]
    assert "away" not in [t.term for t in deck.query_terms("is there a way")]
    assert "init" not in [t.term for t in deck.query_terms("what is in its box")]


def test_two_words_are_joined_when_the_deck_knows_only_the_first_alone() -> None:
    deck = _deck_index(_index("Who writes the postmortem?", "How often do we post updates?",
                              "What is the oneline format?", "Which line is one?", "What is a checkout?",
                              "When do we check the logs?"))
    assert "postmortem" in [t.term for t in deck.query_terms("post mortem")]  # "mortem" is no word of the deck
    assert stem("oneline") not in [t.term for t in deck.query_terms("one line")]  # both are
    assert "checkout" not in [t.term for t in deck.query_terms("check out")]  # a stopword ends it


def test_a_synonym_expansion_carries_the_weight_of_one_word() -> None:
    deck = _deck_index(_index("How do I open a pull request?", synonyms={"pr": "pull request"}))
    terms = {t.term: t.information for t in deck.query_terms("pr")}
    assert set(terms) == {"pull", "request"}
    assert sum(terms.values()) == pytest.approx(max_information())


def test_a_deck_threshold_is_a_quantile_of_everyday_chat_plus_a_margin_between_floor_and_cap() -> None:
    t = Tuning(everyday_quantile=0.5, everyday_margin=0.1, threshold_floor=-0.5, threshold_cap=0.25)
    assert deck_threshold([-1.0, 0.0, 0.2], t) == pytest.approx(0.1)  # the median, 0, plus 0.1
    assert deck_threshold([-math.inf] * 3, t) == -0.5  # chat reaches nothing: the floor
    assert deck_threshold([math.inf] * 3, t) == 0.25   # chat answered word for word: the cap
    assert deck_threshold([], t) == 0.25


def test_each_deck_answers_above_the_level_everyday_chat_reaches_on_it() -> None:
    """A deck whose subject is everyday life (leave, lunch, pay) needs more to answer than one whose
    words chat never uses."""
    t = Tuning()
    office = _deck_index(_index("How do I book annual leave?", "When do we get paid?", "Where is lunch served?",
                                "How do I report that I am sick?", "Who do I ask about my payslip?",
                                "What time does the office open?", "How do I swap a shift?"))
    tensors = _deck_index(_index("What is a tensor?", "How does backpropagation work?", "What is dropout?",
                                 "How do I choose a learning rate?", "What is a convolution kernel?"))
    assert office.answer_threshold == t.threshold_cap
    assert tensors.answer_threshold == t.threshold_floor


def test_the_fit_reads_each_deck_threshold_as_the_index_does(dev: list[DevDeck]) -> None:
    """``fit_answer_rule`` computes the thresholds itself, for many rules at once: the same numbers,
    on decks whose thresholds lie between the floor and the cap (the quantile and margin at work)."""
    names = {"expenses", "oncall", "carehome", "hotel"}
    decks = [DevDeck(d.deck, tuple(c for c in d.cases if c["kind"] != "chat")) for d in dev if d.deck.name in names]
    samples = fit_answer_rule.collect(decks)
    assert len(samples.everyday_deck) == len(decks) * len(everyday_lines())  # no line left out of any
    fitted = fit_answer_rule.thresholds(samples, fit_answer_rule.Rule.from_tuning(Tuning()))
    kept = [DeckIndex(d.deck, Tuning()).answer_threshold for d in decks]
    assert fitted == pytest.approx(kept)
    t = Tuning()
    assert all(t.threshold_floor < k < t.threshold_cap for k in kept), kept


def test_a_deck_reads_the_everyday_chat_only_when_a_question_needs_its_threshold() -> None:
    """Above the cap or below the floor the rule's log-odds decide alone, so a clear question on a
    deck without a kept index never waits for the everyday lines; between them, it does."""
    deck = _deck_index(_index("How do I quit vim?", "What is training time?"))
    t = deck.tuning
    assert deck.match("how do I quit vim").answered  # word for word: no rule at all
    clear, stray = deck.undecided("how do I quit vim quickly"), deck.undecided("how do I quit emacs")
    assert clear is not None and t.answer_logit(clear.features) >= t.threshold_cap
    assert stray is not None and t.answer_logit(stray.features) < t.threshold_floor
    assert deck.match("how do I quit vim quickly").answered and not deck.match("how do I quit emacs").answered
    assert deck._threshold is None
    assert not deck._answers_at((t.threshold_floor + t.threshold_cap) / 2 - 1.0)
    assert deck._threshold is None
    deck._answers_at((t.threshold_floor + t.threshold_cap) / 2)  # between them: the threshold is needed
    assert deck._threshold == t.threshold_floor  # a two-entry deck: chat reaches nothing


def test_with_several_decks_only_the_one_a_question_goes_to_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing compares the decks before any rule decides: only the chosen deck's rule is asked (and
    only it may need its threshold), so a second deck costs no calibration and changes no answer."""
    def deck(name: str, question: str) -> Deck:
        return Deck(name=name, title=name, description="", topics={"t": "T"},
                    entries=(Entry(id="e", deck=name, topic="t", question=question, answer="An answer."),))
    both = SearchIndex([deck("vim", "How do I quit vim and save my changes?"),
                        deck("laptops", "Can I run vim on the office laptop?")])
    assert all(d.undecided("how do I quit vim and save") is not None for d in both._decks)
    assert all(d.undecided("how do I quit vim and save").features for d in both._decks)
    asked: list[str] = []
    decide = DeckIndex.decide
    monkeypatch.setattr(DeckIndex, "decide", lambda self, found: asked.append(self.deck.name) or decide(self, found))
    result = both.search("how do I quit vim and save")
    assert result.best is not None and result.best.entry.deck == "vim"
    assert asked == ["vim"] and both._decks[1]._threshold is None


def test_the_everyday_chat_a_deck_is_calibrated_on_is_not_the_chat_it_is_scored_on() -> None:
    """Compared as the lookup reads them (words, no case or punctuation): no line twice, and none of
    ``tests/kb/chat.yaml``, the chat every deck is scored on. (Some of a dev deck's own chat lines
    are among the everyday lines; the fit leaves them out, so the leave-one-deck-out test is the
    check on chat no threshold read.)"""
    def read(text: str) -> tuple[str, ...]:
        return tuple(words(text))
    scored = {read(str(case["q"])) for case in chat_cases()}
    lines = [read(line) for line in everyday_lines()]
    assert len(lines) >= 600 and len(set(lines)) == len(lines)
    assert not scored & set(lines)


def test_one_incidental_word_is_not_an_answer() -> None:
    index = _index("How do I quit vim?", "What is training time?")
    assert not index.search("what time is it").answered
    assert not index.search("how do I quit emacs").answered
    assert index.search("how do I quit vim").answered


def test_a_word_the_deck_never_uses_is_also_read_as_its_neighbour_nearest_in_meaning() -> None:
    """"computer" to a deck that says "laptop" (``Tuning.meaning_neighbour``): the entry becomes a
    candidate, as surely as the two words are close, and "computer" still counts as a word the deck
    lacks, so one such word is not yet an answer. A neighbour is no typo repair to the answer rule.
    Chat finds no neighbour, and an index read back from its cache reads the same."""
    index = _index("Why is my laptop so slow?", "How do I book a meeting room?", "Where is the printer?")
    deck = _deck_index(index)
    terms = {t.term: t for t in deck.query_terms("my computer takes ages")}
    assert terms[stem("laptop")].neighbour and Tuning().meaning_neighbour <= terms[stem("laptop")].certainty < 1.0
    assert not terms[stem("computer")].neighbour  # kept: a word the deck lacks
    assert [m.entry.id for m in index.rank("my computer takes ages")] == ["e0"]
    assert not index.search("my computer takes ages").answered
    assert index.search("my computer is slow").answered  # with a word of the entry's own
    found = deck.match("my computer is slow")
    assert found is not None and found.features[Tuning.ANSWER_FEATURES.index("repaired")] == 0.0
    assert index.rank("best pizza in town") == []
    kept = pickle.loads(pickle.dumps(deck))  # as the index cache keeps it
    kept._neighbour_of.clear()  # worked out again from the table kept with it
    assert kept.query_terms("my computer takes ages") == list(terms.values())
    off = SearchIndex([deck.deck], Tuning(meaning_neighbour=1.0))
    assert off.rank("my computer takes ages") == []


def test_an_entrys_own_question_typed_back_is_always_answered() -> None:
    # "first" and "thing" alone are too common to pass the answer rule, but the author wrote
    # exactly this question for this entry.
    index = _index("What is the first thing?", "What is the second thing?")
    for query in ("What is the first thing?", "what is the first thing", "WHAT is the first   thing!!"):
        result = index.search(query)
        assert result.answered and result.best and result.best.entry.id == "e0", query
    assert not index.search("what is the first").answered  # only word for word
    assert not index.search("the first thing that comes to mind").answered


def test_an_alias_typed_back_is_answered_by_its_entry() -> None:
    entries = (_entry("a", question="What is the team's second step?", answer="Review.",
                     aliases=("the next thing",)),
               _entry("b", question="What is the next thing to do?", answer="Ship."))
    index = _index_of(*entries)
    result = index.search("The next thing")
    assert result.answered and result.best and result.best.entry.id == "a"


def test_english_counts_are_found_by_bisecting_the_sorted_list() -> None:
    """The lookup relies on the list being one word a line in sorted order; a rewritten list must keep that."""
    import gzip
    import json
    from importlib import resources

    data = english.WORDS.read_bytes()
    lines = data.splitlines()
    assert lines == sorted(lines)
    counts = json.loads(gzip.decompress((resources.files("spellchecker") / "resources" / "en.json.gz").read_bytes()))
    listed = sorted(w for w in counts if w.isascii())  # query words are folded to ASCII before they get here
    sample = listed[:50] + listed[-50:] + listed[::997] + ["the", "says", "time", "aardvark", "tensor", "a"]
    absent = ["zzzzz", "tensros", "", "aaaaa", "~", "é", "Time", "the "] + [w + "q" for w in listed[::4999]]
    for word in sample + absent:
        seen = counts.get(word, 0)  # at or under the floor, a count reads as unseen
        assert english.count(word) == (seen if seen > english._FLOOR else 0), word
    assert english.is_common("says") and not english.is_common("tensros")
    # Both ways of finding a line, the text bisected as it is and the lines it is split into, agree.
    as_text, as_lines = english._WordList(data), english._WordList(data)
    as_text._lookups, as_lines._lookups = -10**9, english.SPLIT_AFTER
    for word in sample + absent:
        key = word.encode("ascii", "replace") + b" "
        assert as_text.line_of(key) == as_lines.line_of(key), word
    assert as_text._lines is None and as_lines._lines is not None


def test_the_shipped_english_list_is_pyspellchecker_s() -> None:
    """``english_words.txt`` is derived, not edited: rewrite it with ``python -m tests.kb.english_words``."""
    from tests.kb.english_words import derived

    assert english.WORDS.read_bytes() == derived()


def test_an_entrys_id_counts_as_its_short_name() -> None:
    # Neither question nor answer says "flaky", but the author named the entry for it.
    entries = (_entry("flaky-tests", question="Why does CI fail only sometimes?",
                     answer="Tests that depend on timing or order pass and fail at random; isolate them."),
               _entry("slow-tests", question="How do I speed up the test suite?",
                     answer="Run tests in parallel and share expensive setup."))
    index = _index_of(*entries)
    result = index.search("flaky tests")
    assert result.answered and result.best and result.best.entry.id == "flaky-tests"


def test_stopwords_the_deck_writes_as_code_are_its_terms() -> None:
    index = _index("What's the difference between WHERE and HAVING?", "When is `is` right instead of `==`?",
                   "Is it OK to store JSON in a column?", "How do I group rows?")
    deck = _deck_index(index)
    assert {t.term for t in deck.query_terms("having")} == {stem("having")}
    assert [m.entry.id for m in index.rank("HAVING")][:1] == ["e0"]
    assert [m.entry.id for m in index.rank("difference between is and ==")][:1] == ["e1"]
    assert deck.query_terms("ok") == []  # "OK" in capitals is chat, not code
    assert _deck_index(_index("How do I group rows?")).query_terms("having") == []  # elsewhere a stopword


def test_two_slips_keep_the_first_letter() -> None:
    # "metaclass" is two edits from "dataclass", but a term the deck lacks, not a typo of it.
    deck = _deck_index(_index("When should I use a dataclass?", "What is a percentile?"))
    assert [t.term for t in deck.query_terms("metaclass")] == ["metaclass"]
    assert [t.term for t in deck.query_terms("prcentlie")] == [stem("percentile")]  # two slips, first letter kept


def test_a_one_letter_flag_the_deck_uses_is_part_of_the_question() -> None:
    entries = (_entry("switch-branch", question="How do I switch branches?",
                     answer="git checkout main moves you to main."),
               _entry("create-branch", question="How do I start a new branch?",
                     answer="git checkout -b name creates it and moves you to it."))
    index = _index_of(*entries)
    deck = _deck_index(index)
    assert "b" in [t.term for t in deck.query_terms("git checkout -b")]
    assert [m.entry.id for m in index.rank("git checkout -b")][:1] == ["create-branch"]
    assert "b" not in [t.term for t in deck.query_terms("plan b for git checkout")]  # a lone letter, not a flag
    assert "x" not in [t.term for t in deck.query_terms("git checkout -x")]  # a flag the deck never uses


def test_two_deck_words_written_together_are_read_apart() -> None:
    deck = _deck_index(_index("How do I follow a log file?", "How do I rebuild the base image?"))
    assert {t.term for t in deck.query_terms("logfile")} == {stem("log"), stem("file")}
    assert [t.term for t in deck.query_terms("rebase")] == ["rebas"]  # "re" is no deck word: a term it lacks
    assert [t.term for t in deck.query_terms("logrotate")] == [stem("logrotate")]  # the deck never says "rotate"


def test_a_question_of_symbols_alone_finds_the_entry_that_names_them() -> None:
    entries = (_entry("exit-codes", question="How do I check whether a command worked?",
                     answer="Test it directly.", aliases=("what is $?",)),
               _entry("redirect", question="How do I send errors to a file too?",
                     answer="Add `2>&1` after the file."),
               _entry("pipes", question="What does | do?", answer="It pipes: `a | b`."))
    index = _index_of(*entries)
    for query, expected in (("$?", "exit-codes"), ("2>&1", "redirect"), ("`2>&1`", "redirect")):
        result = index.search(query)
        assert result.answered and result.best and result.best.entry.id == expected, query
    assert index.search("|").best is not None and index.search("|").best.entry.id == "pipes"  # in its question
    assert not index.search("=>").matches  # no entry names it
    assert not index.search("???").answered


def test_a_css_selector_of_a_colon_and_a_common_word_finds_its_entry() -> None:
    """":where()", ":has", "::before": the word in each is a stopword, so only the colon tells them apart."""
    entries = (_entry("is-vs-where", question="What's the difference between :is() and :where()?",
                     answer="Both match any selector in the list; :where() adds no specificity."),
               _entry("has", question="How do I style a parent by what it contains?", answer="Use `:has()`."),
               _entry("pseudo", question="Why doesn't my ::before or ::after show up?",
                     answer="It needs a content property."))
    index = _index_of(*entries)
    for query, expected in ((":where()", "is-vs-where"), (":is", "is-vs-where"), (":has", "has"),
                            ("::before", "pseudo"), ("::after", "pseudo")):
        result = index.search(query)
        assert result.answered and result.best and result.best.entry.id == expected, query
    assert symbol_tokens("note: where is it") == set()  # a colon ending a word is punctuation
    assert symbol_tokens("key:value") == {"key:value"}


def test_symbol_tokens_drop_wrapping_but_keep_the_symbol() -> None:
    assert symbol_tokens("what is $?") == {"$?", "$"}  # the question mark may end the sentence
    assert symbol_tokens("use `//` here, or (a.b)") == {"//", "a.b"}
    assert symbol_tokens("plain words only") == set()
    assert symbol_tokens("does 2>&1? work") == {"2>&1?", "2>&1"}
    # Chat: a word with its sentence's punctuation, or punctuation alone, is no symbol.
    assert symbol_tokens("how do I do that? why? what's it - ok?? ...") == set()


def test_chat_of_common_words_and_punctuation_finds_no_entry_by_its_punctuation() -> None:
    entries = (_entry("undo", question="Made a commit by mistake: can I undo that?",
                     answer="Yes: `git revert` it. Why? History stays.", aliases=("what is it? a revert",)),
               _entry("flags", question="What does -b do?", answer="It makes a branch."))
    index = _index_of(*entries)
    for chat in ("how do I do that?", "why?", "what is it?", "-", "?", "what's that?"):
        assert not index.search(chat).answered, chat


def test_an_entry_that_writes_the_words_side_by_side_ranks_first() -> None:
    entries = (_entry("csrf", question="What is request forgery?",
                     answer="Scripting is not needed: another site sends a cross-origin request as the user."),
               _entry("xss", question="How do I stop injected code?",
                     answer="Cross site scripting runs an attacker's code in the page as the user."))
    deck = Deck(name="d", title="d", description="", topics={"t": "T"}, entries=entries)
    assert [m.entry.id for m in SearchIndex([deck]).rank("cross site scripting")][:1] == ["xss"]
    plain = SearchIndex([deck], Tuning(phrase_weight=0.0))
    assert [m.entry.id for m in plain.rank("cross site scripting")][:1] == ["csrf"]  # what the pairs change


def test_a_letter_is_a_flag_only_where_the_deck_writes_it_as_one() -> None:
    stats = _index("How do I read an A/B test?", "What is a p-value?")
    assert not stats.search("-b").answered  # "b" of A/B is no flag
    assert "b" not in [t.term for t in _deck_index(stats).query_terms("git checkout -b")]
    git = _index("How do I make a branch with checkout -b?", "How do I undo a commit?")
    assert "b" in [t.term for t in _deck_index(git).query_terms("git checkout -b")]


def test_a_deck_larger_than_its_meanings_cache_ranks_as_with_room_for_all(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.kb.deck_index as deck_index

    questions = [f"How do I fix a {w} error in the build?" for w in
                 "import syntax type name value key index attribute memory timeout disk lock socket os".split()]
    # The first fills the cache with ten; the next need some of those and some new ones.
    queries = ["fix a build error", "os socket lock disk timeout memory", "import syntax type os", "value error"]
    roomy = [[m.entry.id for m in _index(*questions).rank(q, top=10)] for q in queries]
    monkeypatch.setattr(deck_index, "MEANINGS_AT_BUILD", 0)
    monkeypatch.setattr(deck_index, "VECTORS_KEPT", 11)  # room for one question's 10 candidates, not two
    tight = _index(*questions)
    assert [[m.entry.id for m in tight.rank(q, top=10)] for q in queries] == roomy


def test_a_pasted_run_of_letters_is_not_cut_into_deck_words() -> None:
    long_words = "pneumonoultramicroscopicsilicovolcanoconiosis", "hippopotomonstrosesquippedaliophobia"
    deck = _deck_index(_index("How do I read a log file?", f"Is {long_words[0]} like {long_words[1]}?"))
    assert deck._split("logfile") == ("log", "file")
    assert deck._split("".join(long_words)) == ()  # 81 letters: pasted, and every cut would be tried


def test_with_every_dev_deck_loaded_questions_go_to_their_own_deck(dev: list[DevDeck]) -> None:
    """Every dev deck loaded together, several use any question's words: routing still sends most
    on-topic questions to their own deck and answers few from another (``Tuning.route_coverage``;
    on every sixth query of the fifty-seven decks, 77.6% routed home and 12.3% answered elsewhere;
    on every third of thirty-nine decks, 81.7 and 10.6%, against 74.3 and 11.6% by "about" and
    meaning alone; with twenty-seven decks, 83.7 and 9.0%: the more decks share a field, the more
    questions two of them can take). Every sixth query, to keep the suite quick (~45 s)."""
    together = SearchIndex([d.deck for d in dev])
    home = elsewhere = total = 0
    for d in dev:
        for case in [c for c in d.cases if c["id"] is not None][::6]:
            ranked = together.rank(str(case["q"]), top=1)
            result = together.search(str(case["q"]))
            total += 1
            home += bool(ranked) and ranked[0].entry.deck == d.deck.name
            elsewhere += result.answered and result.best is not None and result.best.entry.deck != d.deck.name
    assert home / total >= 0.77, home / total
    assert elsewhere / total <= 0.13, elsewhere / total
