"""Soft-wrapped deck text is joined for chat, and everything else in the Markdown is kept."""

from __future__ import annotations

from bot.kb.markdown import join_soft_breaks

WRAPPED = """\
A paragraph wrapped
in the editor.

- an item that
  continues here
  - a nested item
1. numbered
# Heading
next line
| a | b |
| 1 | 2 |
hard break\\
after it
```python
x = 1
y = 2
```
after the code"""


def test_joins_paragraph_and_list_continuations_only() -> None:
    assert join_soft_breaks(WRAPPED).splitlines() == [
        "A paragraph wrapped in the editor.",
        "",
        "- an item that continues here",
        "  - a nested item",
        "1. numbered",
        "# Heading",
        "next line",
        "| a | b |",
        "| 1 | 2 |",
        "hard break\\",
        "after it",
        "```python",
        "x = 1",
        "y = 2",
        "```",
        "after the code",
    ]


def test_text_without_wrapping_is_unchanged() -> None:
    assert join_soft_breaks("One line.\n\nAnother.") == "One line.\n\nAnother."
