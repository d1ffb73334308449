"""Markdown clean-up for deck text.

Deck authors wrap long answers in their editor, but chat clients (Discord, Slack) show every
newline as a line break, so a paragraph wrapped at 95 columns would arrive ragged. The loader
therefore joins soft-wrapped lines, leaving code blocks, lists, headings, quotes, tables and
blank-line paragraph breaks exactly as written.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
# Lines that start a Markdown block of their own and so are never glued to the line above.
_BLOCK_START = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|#|>|\||```|~~~)")


def join_soft_breaks(markdown: str) -> str:
    """``markdown`` with lines that merely continue the previous paragraph or list item joined to it."""
    lines: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            lines.append(line)
        elif in_fence or not lines or _ends_block(lines[-1]) or not line.strip() or _BLOCK_START.match(line):
            lines.append(line)
        else:
            lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
    return "\n".join(lines)


def _ends_block(line: str) -> bool:
    """Whether nothing may continue ``line``: blank, a fence, a heading, a table row or a hard break."""
    stripped = line.strip()
    return (not stripped or bool(_FENCE.match(line)) or stripped.startswith(("#", "|"))
            or line.endswith("  ") or line.endswith("\\"))
