"""One splitter for Markdown-like text (Discord's Markdown, Slack's mrkdwn) that must fit a platform's limit.

Both platforms cap a message part (an embed description, a Block Kit section) and both fence
code with three backticks; they differ only in their limits and in which cuts inside a line
would break their syntax (Slack's ``<url|label>`` links and ``&amp;`` entities). Each adapter
passes its limit and, where it has one, its rule for a safe cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable

FENCE = "```"
_FENCE_LANGUAGE = re.compile(r"[\w+#.-]*")

CutRule = Callable[[str, int], bool]  # may ``line`` be cut before index ``i``?


def anywhere(line: str, index: int) -> bool:
    """Plain Markdown: any cut keeps the syntax whole (code fences are handled separately)."""
    return True


def split_markup(text: str, limit: int, can_cut: CutRule = anywhere) -> list[str]:
    """Splits ``text`` into pieces of at most ``limit`` characters, each with balanced code fences.

    A piece ends at a paragraph break when one falls in its second half, else at a line break;
    only a single line longer than a piece is cut inside (at a space when there is one, and only
    where ``can_cut`` allows). A code block split in two is closed and reopened with its language.
    """
    if len(text) <= limit:
        return [text]
    lines = text.split("\n")
    fences = _fence_states(lines)
    pieces: list[str] = []
    start = 0
    while start < len(lines):
        opener = fences[start]
        if opener is None and not lines[start].strip():
            start += 1  # a piece never starts with blank lines
            continue
        size = len(opener) + 1 if opener else 0
        end, paragraph_end, paragraph_size = start, None, 0
        while end < len(lines):
            added = len(lines[end]) + (1 if size else 0)
            closing = len(FENCE) + 1 if fences[end + 1] else 0
            if size + added + closing > limit:
                break
            size += added
            end += 1
            if end < len(lines) and fences[end] is None and not lines[end].strip():
                paragraph_end, paragraph_size = end, size
        if end == start:  # one line longer than a whole piece: cut it where the room ends
            room = limit - (len(opener) + 1 if opener else 0) - (len(FENCE) + 1)
            lines[start: start + 1] = _cut_line(lines[start], max(room, 1), can_cut)
            fences = _fence_states(lines)
            continue
        if end < len(lines) and paragraph_end is not None and paragraph_size * 2 >= size:
            end = paragraph_end
        body = ([opener] if opener else []) + lines[start:end] + ([FENCE] if fences[end] else [])
        pieces.append("\n".join(body).rstrip())
        start = end
    return pieces


def _fence_states(lines: list[str]) -> list[str | None]:
    """For each line (and the end), the fence line of the code block open before it, or None.

    The fence line is kept (e.g. ```` ```python ````) so a block split in two reopens with its language.
    """
    states: list[str | None] = [None]
    for line in lines:
        opener = states[-1]
        if line.count(FENCE) % 2:  # an odd number of fences on a line opens or closes a block
            if opener is None:
                language = _FENCE_LANGUAGE.match(line.rsplit(FENCE, 1)[1].strip())
                opener = FENCE + (language.group(0)[:20] if language else "")
            else:
                opener = None
        states.append(opener)
    return states


def _cut_line(line: str, room: int, can_cut: CutRule) -> list[str]:
    """A too-long line cut in two: at the last allowed space within ``room``, else the last allowed
    point, else exactly at ``room``."""
    points = range(room, room // 2, -1)
    cut = next((i for i in points if line[i - 1] == " " and can_cut(line, i)), None)
    if cut is None:
        cut = next((i for i in points if can_cut(line, i)), room)
    return [line[:cut].rstrip(), line[cut:].lstrip()]
