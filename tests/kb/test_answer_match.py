"""The typed-answer matcher: lenient about how an answer is written, never about which choice it names."""

from __future__ import annotations

import pytest

from bot.kb.answer_match import accepted_answers, accepts, answer_problems, canonical, judge
from bot.kb.model import Choice, QuizCard
from tests.kb.typed_answers_eval import HELD_OUT, TUNING, deck_cards, evaluate, load_cases


def card(answers: tuple[str, ...], right: str, *wrong: str, prompt: str = "Which one?") -> QuizCard:
    choices = (Choice(right, correct=True), *(Choice(text) for text in wrong))
    return QuizCard(id="demo/e/q1", entry_id="e", deck="demo", topic="t", prompt=prompt, choices=choices,
                    explanation="Because.", answers=answers)


PREDICT = card(("model.predict()", "predict"), "model.predict()", "model.evaluate()", "model.fit()",
               prompt="Which Keras method produces outputs for new, unlabeled inputs?")
SOFTMAX = card(("Softmax",), "Softmax", "Sigmoid", "ReLU", "Tanh",
               prompt="Which activation suits the output layer?")
PARADIGM = card(("unsupervised learning", "unsupervised"), "Unsupervised learning", "Supervised learning",
                "Reinforcement learning")
RANK = card(("3",), "3", "32", "2", "784",
            prompt="How many dimensions (rank) does a tensor of shape (32, 28, 28) have?")
LOSS = card(("categorical_crossentropy",), "categorical_crossentropy", "sparse_categorical_crossentropy",
            "binary_crossentropy")


@pytest.mark.parametrize("typed", ["predict", "model.predict", "predict()", "Model.Predict()", "`model.predict()`",
                                   "  PREDICT.  ", "tf.keras.Model.predict"])
def test_code_decorations_case_and_punctuation_do_not_matter(typed: str) -> None:
    assert accepts(PREDICT, typed)


@pytest.mark.parametrize("typed", ["soft max", "the softmax", "a Softmax!", "softmax activation", "tf.nn.softmax"])
def test_spacing_articles_and_words_of_the_question_do_not_matter(typed: str) -> None:
    assert accepts(SOFTMAX, typed)


def test_typos_are_forgiven_in_proportion_to_the_answer_length() -> None:
    assert accepts(SOFTMAX, "sofmax") and accepts(SOFTMAX, "softamx")  # 7 letters: one slip
    assert not accepts(SOFTMAX, "sfotmx")  # three slips
    assert accepts(LOSS, "catagorical crossentrophy")  # 23 letters: two slips
    short = card(("Adam",), "Adam", "RMSprop")
    assert accepts(short, "ADAM") and not accepts(short, "Adma")  # four letters or fewer: none


def test_a_typo_never_deletes_a_whole_word() -> None:
    tool = card(("TensorFlow.js",), "TensorFlow.js", "TensorFlow Lite", "TensorFlow Serving")
    assert accepts(tool, "tensorflow js") and accepts(tool, "tensorflw.js")
    assert judge(tool, "tensorflow").reason == "too-far"


def test_a_typo_never_adds_a_whole_word() -> None:
    fit = card(("overfitting",), "Overfitting", "Underfitting")
    assert accepts(fit, "overfiting") and accepts(fit, "over-fitting")
    assert not accepts(fit, "no overfitting") and not accepts(fit, "not overfitting")


def test_word_order_and_joining_words_do_not_matter() -> None:
    compile_ = card(("optimizer, loss and metrics",), "The optimizer, the loss function and the metrics",
                    "The layers", "The training data")
    assert accepts(compile_, "loss, optimizer, metrics")
    assert accepts(compile_, "the metrics and the optimizer and the loss")
    assert not accepts(compile_, "optimizer and loss")


def test_numbers_match_as_digits_or_words_and_are_never_forgiven() -> None:
    assert all(accepts(RANK, typed) for typed in ["3", "three", "Three.", "3.0", "rank 3", "3 dimensions"])
    assert not any(accepts(RANK, typed) for typed in ["32", "2", "two", "thirty two", "4", "28"])
    big = card(("25",), "25", "250")
    assert accepts(big, "twenty five") and accepts(big, "twenty-five") and not accepts(big, "twenty")
    range_ = card(("-1 to 1",), "-1 to 1", "0 to 1")
    assert accepts(range_, "minus one to one") and not accepts(range_, "0 to 1")
    assert not accepts(card(("Conv2D",), "Conv2D", "LSTM"), "Conv1D")


def test_plurals_match_their_singular() -> None:
    weights = card(("class weights",), "Class weights", "SMOTE")
    assert accepts(weights, "class weight") and accepts(weights, "class_weight")
    assert accepts(card(("penalties",), "Penalties", "Labels"), "penalty")


def test_another_choice_or_part_of_one_is_refused_even_within_typo_reach() -> None:
    assert judge(PARADIGM, "supervised").reason == "other-choice"
    assert judge(PARADIGM, "supervised learning").reason == "other-choice"
    assert accepts(PARADIGM, "unsupervized") and accepts(PARADIGM, "Un-supervised")
    assert not accepts(LOSS, "sparse categorical crossentropy")
    assert not accepts(PREDICT, "evaluate") and not accepts(PREDICT, "model.fit")


def test_an_exact_answer_stays_right_when_a_wrong_choice_contains_its_words() -> None:
    single = card(("1", "one example"), "A single example", "One example from every class", "The entire training set")
    assert accepts(single, "one") and accepts(single, "One example")
    assert not accepts(single, "one example from every class")


def test_the_right_choice_text_is_accepted_too() -> None:
    assert accepts(PREDICT, "model.predict()")
    plain = card((), "Google", "Meta")
    assert accepts(plain, "google") and accepted_answers(plain) == ("Google",)
    assert accepted_answers(PREDICT) == ("model.predict()", "predict")


@pytest.mark.parametrize("typed", ["", "   ", "!!!", "the", "@", "x" * 500])
def test_empty_or_absurd_input_is_refused(typed: str) -> None:
    assert not accepts(SOFTMAX, typed)


def test_verdict_names_the_answer_and_the_typos() -> None:
    verdict = judge(PREDICT, "model.predcit")
    assert verdict.accepted and verdict.reason == "close" and verdict.edits == 1
    assert verdict.matched == "model.predict()"
    assert judge(PREDICT, "predict") == judge(PREDICT, "predict")  # deterministic


def test_canonical_form_is_what_duplicates_are_judged_by() -> None:
    assert canonical("The Class_Weights!") == canonical("class weight") == "class weight"
    assert canonical("twenty five") == "25" and canonical("3.0") == "3"
    assert canonical("!!") == ""


def test_answer_problems_name_duplicates_collisions_and_empty_answers() -> None:
    assert answer_problems(PREDICT) == []
    duplicate = card(("class weights", "Class_Weight"), "Class weights", "SMOTE")
    assert "same answer as 'class weights'" in answer_problems(duplicate)[0]
    collision = card(("sigmoid",), "Dense(1, activation='sigmoid')", "Sigmoid")
    [problem] = answer_problems(collision)
    assert "'sigmoid' would be taken for a wrong choice" in problem
    assert "no letters or digits" in answer_problems(card(("?!",), "Yes", "No"))[0]


def test_an_answer_a_typo_away_from_a_wrong_choice_is_a_deck_problem() -> None:
    [problem] = answer_problems(card(("softmax", "sigmod"), "Softmax", "Sigmoid", "ReLU"))
    assert "'sigmod' is a typo away from choice 2 ('Sigmoid')" in problem
    # The right choice's own words are as distinct as the choices are.
    assert answer_problems(PARADIGM) == []


def test_every_answer_of_the_shipped_deck_is_valid_and_accepted() -> None:
    cards = deck_cards()
    with_answers = [c for c in cards.values() if c.answers]
    assert len(with_answers) >= 40
    assert all(accepts(c, answer) for c in with_answers for answer in c.answers)
    assert all(not accepts(c, choice.text) for c in with_answers for choice in c.choices if not choice.correct)


def test_case_files_are_big_varied_and_apart() -> None:
    tuning, held_out = load_cases(TUNING), load_cases(HELD_OUT)
    assert len(tuning) + len(held_out) >= 200
    assert 0.25 <= len(held_out) / (len(tuning) + len(held_out)) <= 0.35
    assert not {(c["card"], c["typed"]) for c in tuning} & {(c["card"], c["typed"]) for c in held_out}
    for cases in (tuning, held_out):
        kinds = {str(c["kind"]) for c in cases if not c["accept"]}
        assert {"other-choice", "partial", "similar-name", "short-guess"} <= kinds
        assert sum(not c["accept"] for c in cases) >= len(cases) / 3


# Floors a little under what was measured (tuning: accept 99.5%, refuse 100%, overall 99.8%;
# held out, scored once after tuning ended: accept 94.4%, refuse 100%, overall 97.2%).
def test_tuning_cases_floors() -> None:
    score = evaluate(deck_cards(), load_cases(TUNING))
    assert score.accept_rate >= 0.97, score.misses
    assert score.refuse_rate >= 0.98, score.misses
    assert score.accuracy >= 0.98, score.misses


def test_held_out_cases_floors() -> None:
    score = evaluate(deck_cards(), load_cases(HELD_OUT))
    assert score.accept_rate >= 0.92, score.misses
    assert score.refuse_rate >= 0.97, score.misses
    assert score.accuracy >= 0.95, score.misses

