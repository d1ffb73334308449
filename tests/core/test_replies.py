"""Text helpers every reply goes through."""

from bot.core.replies import fit


def test_fit_keeps_text_within_the_limit() -> None:
    assert fit("short label", 80) == "short label"
    assert fit("x" * 80, 80) == "x" * 80


def test_fit_cuts_at_a_word_boundary_and_marks_the_cut() -> None:
    text = "How do you handle overfitting in deep learning models with dropout"
    cut = fit(text, 40)
    assert cut == "How do you handle overfitting in deep…"
    assert len(cut) <= 40


def test_fit_cuts_a_long_word_hard_rather_than_leaving_almost_nothing() -> None:
    cut = fit("tf " + "a" * 100, 20)
    assert cut == "tf " + "a" * 16 + "…"
    assert len(cut) == 20
