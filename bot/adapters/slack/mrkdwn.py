"""The core's Markdown turned into Slack's mrkdwn, and Slack's escaped text turned back into plain text.

Slack does not speak Markdown: bold is ``*bold*``, italic ``_italic_``, links ``<url|text>``,
there are no headings, and ``&``, ``<`` and ``>`` are control characters that must be escaped
as ``&amp;``, ``&lt;`` and ``&gt;`` everywhere, code included. Escaping every piece of text
(user text echoed by the core too) is also what keeps ``<!here>`` or ``<@U123>`` from ever
pinging anyone. Conversion is line by line, so the splitter in :mod:`blocks` can rely on code
fences being lines of their own: a bare ````` ``` ````` line opens or closes a block.
"""

from __future__ import annotations

import re

FENCE = "```"
# Inside a code block, or on a line that is not a fence, three backticks would open or close a
# block in Slack; a zero-width space between them keeps them visible and inert.
_INERT_FENCE = "``\u200b`"
_BOLD_MARK = "\ue000"  # private-use character: stands for Slack's "*" while italics are converted
_CODE_OPEN, _CODE_CLOSE = "\ue001", "\ue002"  # around a code span's number while the rest of its line is converted
_HELD = re.compile(f"{_CODE_OPEN}(\\d+){_CODE_CLOSE}")

_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_QUOTE = re.compile(r"^ {0,3}>\s?(.*)$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<((?:https?|mailto):[^>\s]+)>")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_ENTITY = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` escaped as Slack requires; nothing else changes."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Text as the person typed it: Slack escapes ``&``, ``<`` and ``>`` in what it sends us."""
    return re.sub(r"&(amp|lt|gt);", lambda m: _ENTITY[m.group(0)], text)


def to_mrkdwn(markdown: str) -> str:
    """Converts the core's Markdown to mrkdwn; every code fence ends up closed on a line of its own."""
    out: list[str] = []
    in_code = False
    for line in markdown.split("\n"):
        stripped = line.strip()
        if stripped.startswith(FENCE) and stripped.count(FENCE) == 1 and (not in_code or stripped == FENCE):
            out.append(FENCE)  # the language tag is dropped: Slack would show it as the first code line
            in_code = not in_code
        elif in_code:
            out.append(escape(line).replace(FENCE, _INERT_FENCE))
        else:
            out.append(_convert_line(line))
    if in_code:
        out.append(FENCE)
    return "\n".join(out)


def _convert_line(line: str) -> str:
    if line.count(FENCE) % 2:
        line = line.replace(FENCE, _INERT_FENCE)
    if _RULE.match(line):
        return "──────────"
    heading = _HEADING.match(line)
    if heading:
        text = _inline(heading.group(1)).replace("*", "")
        return f"*{text}*" if text else ""
    quote = _QUOTE.match(line)
    if quote:
        return "> " + _inline(quote.group(1))  # the one ">" Slack must see raw
    bullet = _BULLET.match(line)
    if bullet:
        return f"{bullet.group(1)}• {_inline(bullet.group(2))}"
    return _inline(line)


def _inline(text: str) -> str:
    """One line outside code blocks: code spans are kept (escaped only), the rest converted.

    Code spans are set aside as numbered placeholders while links and emphasis are converted
    on the whole line, so emphasis around code (``**Use `tf.function`**``) is converted as one.
    """
    spans: list[str] = []

    def hold(span: re.Match[str]) -> str:
        spans.append("`" + escape(span.group(2).replace("`", "ˋ")) + "`")
        return f"{_CODE_OPEN}{len(spans) - 1}{_CODE_CLOSE}"

    held = _CODE_SPAN.sub(hold, text.replace(_CODE_OPEN, "").replace(_CODE_CLOSE, ""))
    return _HELD.sub(lambda m: spans[int(m.group(1))], _links(held))


def _links(text: str) -> str:
    parts: list[str] = []
    last = 0
    for link in _LINK.finditer(text):
        parts.append(_emphasis(escape(text[last:link.start()])))
        if link.group(3):
            parts.append(f"<{_url(link.group(3))}>")
        else:
            label = escape(_BOLD.sub(lambda m: m.group(1) or m.group(2), link.group(1))).replace("|", "¦")
            parts.append(f"<{_url(link.group(2))}|{label}>")
        last = link.end()
    parts.append(_emphasis(escape(text[last:])))
    return "".join(parts)


def _url(url: str) -> str:
    # "|" and ">" end a Slack link early; percent-encoding them leaves the address intact.
    return url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


def _emphasis(text: str) -> str:
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(1) or m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    return text.replace(_BOLD_MARK, "*")
