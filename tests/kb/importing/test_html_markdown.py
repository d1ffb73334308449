"""Anki's HTML becomes the Markdown our decks hold, and media is named, never kept."""

from __future__ import annotations

import pytest

from bot.kb.importing.html_markdown import html_to_markdown, looks_like_html
from bot.kb.markdown import join_soft_breaks


@pytest.mark.parametrize(("html", "markdown"), [
    ("<b>bold</b>, <strong>strong</strong>, <i>it</i>, <em>em</em>", "**bold**, **strong**, *it*, *em*"),
    ("a <b> spaced </b>word", "a **spaced** word"),
    ("<s>gone</s> <code>x*y</code> <code>a`b</code>", "~~gone~~ `x*y` ``a`b``"),
    ("<u>underlined</u> <span style='color:red'>red</span> <sub>2</sub>", "underlined red 2"),
    ("first<br>second<br/>third", "first\n\nsecond\n\nthird"),
    ("<div>one</div><div>two</div>", "one\n\ntwo"),
    ("<p>a</p>\n\n<p>b   c\nd</p>", "a\n\nb c d"),
    ("<ul><li>x</li><li>y</li></ul>", "- x\n- y"),
    ("<ol><li>x</li><li>y</li></ol>", "1. x\n2. y"),
    ("<ul><li>outer<ul><li>inner</li></ul></li></ul>", "- outer\n  - inner"),
    ("<pre>def f():\n    return 1</pre>", "```\ndef f():\n    return 1\n```"),
    ("<h2>Title</h2>text", "## Title\n\ntext"),
    ("<blockquote>q</blockquote>", "> q"),
    ("<table><tr><th>k</th><th>v</th></tr><tr><td>a|b</td><td></td></tr></table>",
     "| k | v |\n| --- | --- |\n| a\\|b |  |"),
    ("<a href='https://example.org'>site</a> and <a href='#x'>local</a>", "[site](https://example.org) and local"),
    ("fish &amp; chips&nbsp;now &lt;b&gt;", "fish & chips now <b>"),
    ("<script>alert(1)</script><style>b{}</style>shown", "shown"),
    ("<b>never closed", "**never closed**"),
    ("stray</b> end", "stray end"),
])
def test_converts_the_html_anki_writes(html: str, markdown: str) -> None:
    assert html_to_markdown(html).markdown == markdown


def test_line_breaks_survive_the_loaders_soft_wrap_joining() -> None:
    markdown = html_to_markdown("taberu<br>to eat").markdown
    assert join_soft_breaks(markdown) == "taberu\n\nto eat"


@pytest.mark.parametrize(("html", "media", "text"), [
    ("<img src='cat.jpg'> A cat", ("cat.jpg",), "A cat"),
    ("Meow [sound:meow.mp3]", ("meow.mp3",), "Meow"),
    ("<audio controls><source src='a.ogg'>Your browser cannot play this</audio>after", ("a.ogg",), "after"),
    ("<video>no source</video>", ("<video>",), ""),
    ("<img src='a.png'><img src='b.png'>", ("a.png", "b.png"), ""),
])
def test_media_is_dropped_and_named(html: str, media: tuple[str, ...], text: str) -> None:
    converted = html_to_markdown(html)
    assert converted.media == media
    assert converted.markdown == text


@pytest.mark.parametrize(("text", "html"), [
    ("<b>x</b>", True), ("a<br>b", True), ("fish &amp; chips", True),
    ("a < b and b > c", False), ("plain text", False), ("x<y", False),
])
def test_only_cells_that_hold_html_are_converted(text: str, html: bool) -> None:
    assert looks_like_html(text) is html
