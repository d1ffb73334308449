"""The lookup's few constants, in one place, each with why it has its value.

They are plain numbers with a meaning that does not depend on the deck (shares of a question's
information, nats of English information), so one setting serves every deck. ``GRID`` lists
the values the leave-one-deck-out evaluation (``python -m tests.kb.devset_eval --lodo``) may
choose among, to show the defaults are not fitted to one deck.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Tuning:
    """Constants of the lookup's ranking and answer rule."""

    # A word's information counts from the level of "the" (3 nats, one word in twenty) up, so
    # everyday words ("time" 6.4) weigh little and terms of art ("tensor" 16) much. Of 0, 3, 5
    # and 7, 3 did best on the TensorFlow and SQL decks and within a point on the others.
    common_information: float = 3.0
    # A repaired word is a guess at what the person meant, so it explains less of the question.
    repair_certainty: float = 0.85
    # A word that an entry's answer only mentions in passing explains less than one in its
    # question, aliases or keywords: "what time is it" must not be answered by an entry whose
    # answer says "training time".
    body_credit: float = 0.7
    # Answer when the best entry explains this share of the question's information that the deck
    # knows, less the share in words the deck never uses ("lunch", "kubernetes"): half is "more
    # explained than not", and LODO chose 0.5 on every fold ...
    min_coverage: float = 0.5
    # ... or, for a long question, this much information (about three specific words) ...
    long_evidence: float = 25.0
    # ... and never on less than one specific word's worth. Measured and left out: answering a
    # clear winner (best minus second score 0.05-0.3) on lower coverage (0.2-0.4), or a second
    # threshold pair (coverage 0.1-0.45 with evidence 8-22): the questions declined with the
    # right entry first look like the chat and near misses declined (summed decision of the four
    # dev decks 334.8-339.8 against 339.5; no setting helped more than one deck by over a point).
    min_evidence: float = 5.0
    # The second BM25 index over question, aliases and keywords rewards entries *about* the words;
    # at half the weight of the whole-entry index (measured on the four dev decks: +1.8 to +2.5
    # points top-1 on the three with few aliases, -1 on the TensorFlow deck; 0 and 2 were worse;
    # re-measured: 0.3 gains 1.2 top-1 on the shell deck only, 0.8 loses on three).
    head_weight: float = 0.5
    # Ranking blends how much of the question an entry explains with its BM25 score (relative to
    # the best); explaining more counts for more (0.7: +0.6 to +3 points top-1 on three dev decks).
    rank_coverage: float = 0.7
    # Rank with each query word's BM25 part scaled by its English information, so "time" in a
    # long question pulls less than "tensor" (within a point either way on the dev decks).
    query_weighting: bool = True
    # Quiz prompts, explanations and right choices are indexed like the answer: the deck author's
    # other words for the same idea (measured: +1 to +3.5 points top-1 on the SQL and shell decks,
    # -1.8 on Python, none on TensorFlow).
    quiz_weight: float = 1.0
    # Candidates are re-ranked by adding this times the cosine between the question's meaning and
    # the entry's (``bot.kb.meaning``): paraphrases share the idea, not the words. Measured on the
    # five dev decks' top-1: 0.3 +1.5, 0.5 +2.3, 0.7 +2.1 points on average; 0 turns it off.
    meaning_weight: float = 0.5
    # Ranking reads this share of an entry's coverage word by word in meaning (each query word
    # counting as close as the entry's nearest word is: ``DeckIndex._soft_coverage``), the rest
    # word for word. Measured on the fifteen dev decks alone (mean decision / top-1 / top-3):
    # 0 84.5 / 85.2 / 93.5; 0.25 84.5 / 85.5 / 93.9, top-1 up on nine decks and down on three (0.5
    # to 1.2 points); 0.5 84.4 / 85.3 / 94.3, down on seven; 0.75 84.3 / 85.4 / 94.4, down on five.
    # Left out in turn, each deck gets 0.25 from the other fourteen, by decision and by top-1 (but
    # Docker, 0.75 by top-1). The answer rule reads word coverage alone: this moves which entry is
    # first, not how much of the question it must explain.
    soft_coverage: float = 0.25
    # Routing between decks adds this many nats (the unit of ``about``) per unit of the best
    # entry's closeness in meaning above its deck's background. Measured with each of the eight
    # dev decks beside the built-in one: 50, 75, 100, 150 gave mean decision 85.4, 85.5, 85.6,
    # 85.6 and statistics 1.4, 1.4, 0.8, 0.8% from the wrong deck (every other deck 0.3% or
    # less); 200 takes TensorFlow questions with every deck loaded. With all nine decks loaded,
    # 100 is 0.3 points of mean decision under 50. Not in ``GRID`` (decks alone do not route):
    # ``--lodo --with-builtin`` chooses it among ``ROUTE_GRID`` beside the built-in deck.
    route_meaning: float = 100.0
    # Candidates that write neighbouring query words side by side ("NOT EXISTS", "cross site
    # scripting") move this share of the way towards a score of 1, in proportion to the pairs
    # they hold. Measured on the seven dev decks (decision / top-1 points, alone): 0.2 gains
    # 0 to +1.0 / 0 to +1.8 on every deck and loses on none; 0.1 and 0.4 gain less on average.
    phrase_weight: float = 0.2

    ROUTE_GRID: ClassVar[dict[str, tuple[float, ...]]] = {"route_meaning": (50.0, 100.0, 150.0)}
    GRID: ClassVar[dict[str, tuple[float, ...]]] = {
        "min_coverage": (0.4, 0.5, 0.6),
        "long_evidence": (20.0, 25.0, 35.0),
        "body_credit": (0.5, 0.7, 0.85),
        "meaning_weight": (0.3, 0.5, 0.7),
        "soft_coverage": (0.0, 0.25, 0.5, 0.75),
        "phrase_weight": (0.0, 0.2, 0.4),
    }
