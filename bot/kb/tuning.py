"""The lookup's few constants, in one place, each with why it has its value.

They are plain numbers with a meaning that does not depend on the deck (shares of a question's
information, nats of English information), so one setting serves every deck. ``GRID`` lists
the values the leave-one-deck-out evaluation (``python -m tests.kb.devset_eval --lodo``) may
choose among, to show the defaults are not fitted to one deck; the answer rule's weights, and how
each deck reads its threshold from everyday chat, are fitted on the dev decks pooled and shown
leave-one-deck-out by ``python -m tests.kb.fit_answer_rule``.
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
    # Never answer on less than one specific word's worth of information in the best entry (nats
    # above ``common_information``): "hello everyone" and "morning all" share one everyday word
    # with some entry. Above it, the answer rule below decides.
    min_evidence: float = 5.0
    # The answer rule: answer when ``answer_logit`` (the log-odds that the best entry is the right
    # one) is at least the deck's own threshold (``DeckIndex.answer_threshold``). A logistic model
    # fitted on every dev deck pooled by ``python -m tests.kb.fit_answer_rule``, which prints these
    # numbers and their leave-one-deck-out figures; refit when ranking changes. Why not the hand
    # rule it replaces (half the known information explained, or 25 nats): paraphrases the right
    # entry ranks first were declined on the plain-English decks, and adding thresholds to it
    # traded them one for one against chat and near misses. Every feature means the same on any
    # deck (``ANSWER_FEATURES``).
    answer_weights: tuple[float, ...] = (0.9494, 1.214, 0.6945, 1.791, 1.895, 2.526, 6.436, 1.522, 0.04286, -0.05731,
                                         0.1566, -0.5509)
    answer_bias: float = -5.356
    # Each deck's threshold (``bot.kb.everyday``): the level this quantile of the everyday chat
    # lines' log-odds reaches on the deck, plus this margin, no lower than the floor and no higher
    # than the cap. Fitted with the weights: the best summed decision that keeps every dev deck's
    # chat declined >= 95.5% (half a point of margin, so a deck the fit never saw declines 95%)
    # and the near misses declined as often as the hand rule did (83.9% of the dev decks', pooled).
    everyday_quantile: float = 0.97
    everyday_margin: float = 0.6
    threshold_cap: float = 0.25
    # The floor is not fitted: a small deck reaches almost no everyday line, so its threshold
    # falls to the floor, and a question on what it does not cover has only its few entries to
    # match ("how do I quit emacs" on a deck whose entry is "How do I quit vim?", log-odds -0.86).
    # Measured by fitting the rest with the floor among the fitted numbers (-2 to 0): it chose -1.0
    # (leave-one-deck-out mean decision 83.99%); fixed at -0.5, 83.92%; at 0, 83.13%. (Measured before
    # the everyday lines were compared as words; with them, -0.5 gives 83.80%.)
    threshold_floor: float = -0.5
    # The earlier rounds' hand rule, now one of the model's features (``half_explained``): the best
    # entry explains this share of the question's information that the deck knows, less the share
    # in words the deck never uses ...
    min_coverage: float = 0.5
    # ... or, for a long question, this much information (about three specific words). A step the
    # linear model cannot build from the share alone; without it, single terms the best entry holds
    # only in its answer ("envFrom", "subPath") and typos were declined far more (Kubernetes terms
    # 97.4 -> 87.2%, statistics typos 88.6 -> 70.5%) for the same mean decision leave-one-deck-out.
    long_evidence: float = 25.0
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
    # ... and this many nats per unit of the share of the question the deck's best entry explains
    # in words (``DeckMatches.coverage``): of two decks that both use a question's words, the one
    # with an entry about all of them rather than one that shares its field's words. Measured with
    # the nineteen dev decks loaded together (their on-topic queries routed to their own deck /
    # answered right / answered from another deck): 0 80.0 / 66.6 / 9.3%; 20 83.3 / 69.0 / 8.7%;
    # 40 85.4 / 70.3 / 8.0%; 80 85.9 / 71.1 / 7.9%; 120 85.9 / 71.3 / 8.1%. Their 505 chat lines
    # were declined 80.8% at 0 and 78.8% at 40 (with every deck loaded, each deck's own few misses
    # add up; alone, each declines 95%). Beside the built-in deck alone it moves little (99.1 ->
    # 99.0% routed right). 40 takes most of the gain for the least chat.
    route_coverage: float = 40.0
    # An English word the deck never uses (not a slip, not two deck words) is also read as the deck
    # word closest to it in meaning when their cosine (``bot.kb.meaning``'s word vectors) is at least
    # this, as surely as they are close: "computer" as "laptop" (0.71), "reboot" as "restart" (0.80).
    # Measured on the thirty-nine dev decks alone (mean top-1 / top-3, ranking only): off 84.80 /
    # 93.51; 0.45 84.95 / 93.79, but git -2.8, privacy -1.5 and Docker -1.3 top-1 ("messed" read as
    # "message"); 0.55 85.03 / 93.72, no deck down more than 0.7. With the answer rule refitted,
    # leave-one-deck-out mean decision 85.10 -> 85.26%, every deck's chat declined >= 95.5% still.
    # Read instead of the word rather than beside it, chat was answered more (lowest 92.0%). 1 is off.
    meaning_neighbour: float = 0.55
    # Candidates that write neighbouring query words side by side ("NOT EXISTS", "cross site
    # scripting") move this share of the way towards a score of 1, in proportion to the pairs
    # they hold. Measured on the seven dev decks (decision / top-1 points, alone): 0.2 gains
    # 0 to +1.0 / 0 to +1.8 on every deck and loses on none; 0.1 and 0.4 gain less on average.
    phrase_weight: float = 0.2

    # What ``answer_weights`` weigh, in order (``DeckIndex._answer_features``): log(1 + nats the best
    # entry holds); the share of the question's known information it explains, less the share the
    # deck lacks, and whether the hand rule above answers (1 or 0); the share of the question's
    # information in repaired words (a typo's meaning is read from the misspelt text, so its
    # closeness says less); its cosine to the question above the deck's background; its cosine and
    # its score (0..1) above the second candidate's; the share of the question's word pairs it
    # writes side by side; the question's ``about`` per word (nats); the information of the most
    # specific query word it lacks, and how many it lacks; whether it is the only candidate.
    ANSWER_FEATURES: ClassVar[tuple[str, ...]] = ("evidence", "explained", "half_explained", "repaired", "lift",
                                                  "closeness_margin", "score_margin", "phrase_share",
                                                  "about_per_word", "missed_max", "missed", "only_candidate")
    ROUTE_GRID: ClassVar[dict[str, tuple[float, ...]]] = {"route_meaning": (50.0, 100.0, 150.0)}
    GRID: ClassVar[dict[str, tuple[float, ...]]] = {
        "body_credit": (0.5, 0.7, 0.85),
        "meaning_weight": (0.3, 0.5, 0.7),
        "soft_coverage": (0.0, 0.25, 0.5, 0.75),
        "phrase_weight": (0.0, 0.2, 0.4),
    }

    def answer_logit(self, features: tuple[float, ...]) -> float:
        """The answer rule's log-odds that the best entry is right (plain floats: a numpy dot
        product of a dozen numbers costs more than the sum)."""
        return float(self.answer_bias + sum(w * f for w, f in zip(self.answer_weights, features)))
