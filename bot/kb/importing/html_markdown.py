"""HTML fragments (Anki fields, HTML in CSV cells) turned into the Markdown our decks hold.

Anki's editor writes a small subset of HTML: ``<b>``, ``<i>``, ``<u>``, ``<br>``, ``<div>``,
lists, ``<code>``/``<pre>``, links, images, the odd table. The standard library's tolerant
``html.parser`` covers that subset in a page of code; ``markdownify`` would pull in
BeautifulSoup and soupsieve for it, and ``html2text`` is GPL-3 while StudyBot is MIT.

Media (``<img>``, ``<audio>``, ``<video>``, Anki's ``[sound:x.mp3]``) cannot travel in a YAML deck:
it is dropped and named in the result, so the import can say what it left out.

A ``<br>`` or block boundary becomes a blank line, not a single newline: the deck loader joins
lines that merely continue a paragraph (chat shows every newline as a break), so a single
newline would glue two lines the author meant to keep apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_MARKS = {"b": "**", "strong": "**", "i": "*", "em": "*", "s": "~~", "del": "~~", "strike": "~~", "code": "`"}
_BLOCKS = {"div", "p", "section", "article", "header", "footer", "center", "dl", "dt", "dd", "figure",
           "figcaption", "address", "details", "summary"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_MEDIA_WITH_CONTENT = {"audio", "video", "object", "iframe", "svg", "math"}
_MEDIA_EMPTY = {"img", "embed", "source", "track"}
_HIDDEN = {"script", "style", "head", "title", "template"}
_SOUND = re.compile(r"\[sound:([^\]]*)\]")
# Tags that make a CSV cell worth converting; plain text such as "a < b" is left alone.
_LOOKS_HTML = re.compile(r"</?(?:b|i|u|s|br|div|p|span|img|ul|ol|li|code|pre|a|strong|em|sub|sup|font|table|"
                         r"h[1-6])\b[^>]*>|&(?:nbsp|amp|lt|gt|quot|#\d+);", re.IGNORECASE)
_LIST_KINDS = ("li", "row", "quote")


@dataclass(frozen=True)
class Converted:
    """Markdown made from an HTML fragment, and the media references it dropped."""

    markdown: str
    media: tuple[str, ...] = ()


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds HTML tags or entities (so a CSV cell should be converted)."""
    return bool(_LOOKS_HTML.search(text))


def html_to_markdown(html: str) -> Converted:
    """``html`` as Markdown, with images, sounds and videos dropped and listed."""
    media = [name.strip() or "[sound:]" for name in _SOUND.findall(html)]
    converter = _Converter()
    converter.feed(_SOUND.sub(" ", html))
    converter.close()
    return Converted(converter.markdown(), tuple(media + converter.media))


class _Converter(HTMLParser):
    """Builds Markdown blocks (paragraphs, list items, table rows, code) while parsing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (kind, markdown): kind decides the separator
        self.inline: list[tuple[str, list[str], str]] = [("", [], "")]  # (tag, pieces, href)
        self.lists: list[int | None] = []  # None for <ul>, the next number for <ol>
        self.item_prefix = ""
        self.heading = 0
        self.quote = 0
        self.hidden = 0
        self.pre: list[str] | None = None
        self.row: list[str] | None = None
        self.table_rows = 0
        self.media: list[str] = []
        self.media_open: list[tuple[str, int]] = []  # open <audio>/<video>: media count at their start

    # -- parser callbacks -------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        src = next((value for name, value in attrs if name in ("src", "data") and value), None)
        if tag in _MEDIA_EMPTY or tag in _MEDIA_WITH_CONTENT:
            if tag in _MEDIA_WITH_CONTENT:
                self.hidden += 1  # their inner text is a fallback message, not content
                self.media_open.append((tag, len(self.media)))
            if src:
                self.media.append(src)
            return
        if tag in _HIDDEN:
            self.hidden += 1
        if self.hidden:
            return
        if self.pre is not None:
            if tag == "br":
                self.pre.append("\n")
            return
        if tag in _MARKS or tag == "a":
            href = next((value for name, value in attrs if name == "href" and value), "")
            self.inline.append((tag, [], href))
        elif tag in ("td", "th"):
            self._flush_inline()  # whitespace between cells
        elif tag == "br" and self.row is not None:
            self.inline[-1][1].append(" ")
        elif tag == "br":
            self._end_line()
            if self.item_prefix:
                self.item_prefix = " " * len(self.item_prefix)
        elif tag == "hr":
            self._end_line()
            self.blocks.append(("p", "---"))
        elif tag in ("ul", "ol"):
            self._end_line()
            start = next((value for name, value in attrs if name == "start"), None)
            self.lists.append(None if tag == "ul" else int(start) if start and start.isdigit() else 1)
        elif tag == "li":
            self._end_line()
            self._start_item()
        elif tag == "pre":
            self._end_line()
            self.pre = []
        elif tag == "blockquote":
            self._end_line()
            self.quote += 1
        elif tag in _HEADINGS:
            self._end_line()
            self.heading = _HEADINGS[tag]
        elif tag == "table":
            self._end_line()
            self.table_rows = 0
        elif tag == "tr":
            self.row = []
        elif tag in _BLOCKS:
            self._end_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _MEDIA_EMPTY and tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _MEDIA_WITH_CONTENT and self.media_open:
            open_tag, count = self.media_open.pop()
            if count == len(self.media):  # no src anywhere inside: name the element instead
                self.media.append(f"<{open_tag}>")
        if tag in _MEDIA_WITH_CONTENT or tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if self.hidden:
            return
        if tag == "pre" and self.pre is not None:
            code = "".join(self.pre).strip("\n")
            self.pre = None
            if code.strip():
                fence = "````" if "```" in code else "```"
                self.blocks.append(("pre", f"{fence}\n{code}\n{fence}"))
            return
        if self.pre is not None:
            return
        if tag in _MARKS or tag == "a":
            self._close_inline(tag)
        elif tag in ("td", "th") and self.row is not None:
            self.row.append(self._flush_inline().replace("|", "\\|"))
        elif tag in ("ul", "ol"):
            self._end_line()
            if self.lists:
                self.lists.pop()
            self.item_prefix = ""
        elif tag == "li":
            self._end_line()
            self.item_prefix = ""
        elif tag == "blockquote":
            self._end_line()
            self.quote = max(0, self.quote - 1)
        elif tag in _HEADINGS:
            self._end_line()
            self.heading = 0
        elif tag == "tr":
            self._end_row()
        elif tag in _BLOCKS or tag == "table":
            self._end_line()

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre is not None:
            self.pre.append(data)
        else:
            self.inline[-1][1].append(re.sub(r"\s+", " ", data))

    # -- building blocks ---------------------------------------------------------------------------

    def _start_item(self) -> None:
        depth = max(len(self.lists) - 1, 0)
        number = self.lists[-1] if self.lists else None
        if self.lists and number is not None:
            self.lists[-1] = number + 1
        self.item_prefix = "  " * depth + (f"{number}. " if number is not None else "- ")

    def _close_inline(self, tag: str) -> None:
        """Closes ``tag`` and anything opened inside it that was left open (tolerant HTML)."""
        if not any(open_tag == tag for open_tag, _, _ in self.inline[1:]):
            return  # a stray end tag
        while True:
            open_tag, pieces, href = self.inline.pop()
            self.inline[-1][1].append(_wrap(open_tag, "".join(pieces), href))
            if open_tag == tag:
                return

    def _flush_inline(self) -> str:
        """The current line's text, closing open inline tags and re-opening them empty after it."""
        reopened: list[tuple[str, list[str], str]] = []
        while len(self.inline) > 1:
            open_tag, pieces, href = self.inline.pop()
            self.inline[-1][1].append(_wrap(open_tag, "".join(pieces), href))
            reopened.append((open_tag, [], href))
        text = re.sub(r" {2,}", " ", "".join(self.inline[0][1])).strip()
        self.inline[0][1].clear()
        self.inline.extend(reversed(reopened))
        return text

    def _end_line(self) -> None:
        text = self._flush_inline()
        if not text:
            return
        if self.row is not None:  # a block inside a cell: the cell goes on
            self.inline[0][1].append(text + " ")
            return
        prefix = "> " * self.quote + ("#" * self.heading + " " if self.heading else "") + self.item_prefix
        kind = "li" if self.item_prefix else "quote" if self.quote else "p"
        self.blocks.append((kind, prefix + text))

    def _end_row(self) -> None:
        leftover = self._flush_inline()
        cells = (self.row or []) + ([leftover] if leftover else [])
        self.row = None
        if not cells:
            return
        self.blocks.append(("row", "| " + " | ".join(cells) + " |"))
        if self.table_rows == 0:
            self.blocks.append(("row", "|" + " --- |" * len(cells)))
        self.table_rows += 1

    def close(self) -> None:
        super().close()
        while self.media_open:
            self.handle_endtag(self.media_open[-1][0])
        if self.pre is not None:  # an unclosed <pre>
            self.handle_endtag("pre")
        if self.row is not None:
            self._end_row()
        self._end_line()

    def markdown(self) -> str:
        """The blocks joined: list items, table rows and quotes line by line, the rest by blank lines."""
        out: list[str] = []
        previous = ""
        for kind, text in self.blocks:
            if out:
                out.append("\n" if kind == previous and kind in _LIST_KINDS else "\n\n")
            out.append(text)
            previous = kind
        return "".join(out).strip()


def _wrap(tag: str, content: str, href: str) -> str:
    """Inline ``content`` with its Markdown marks, keeping surrounding spaces outside them."""
    core = content.strip()
    if not core:
        return " " if content else ""
    lead = " " if content[0].isspace() else ""
    trail = " " if content[-1].isspace() else ""
    if tag == "a":
        linked = f"[{core}]({href})" if href.startswith(("http://", "https://")) and href != core else core
        return lead + linked + trail
    mark = _MARKS[tag]
    if tag == "code" and "`" in core:
        mark = "``"
    if core.startswith(mark[0]) or core.endswith(mark[0]):
        return content  # **already** marked, or marks would touch: leave the text as written
    return f"{lead}{mark}{core}{mark}{trail}"
