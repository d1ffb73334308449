"""Text people type, read from bytes: UTF-8, and where it is not, a sentence saying where.

Lines come from a terminal or a pipe as bytes. Decoding them leniently would pass lone
surrogates (Python's ``surrogateescape``) on to the decks' search, the database and the
output, where they fail or come out as invalid UTF-8; strictly, a traceback. So each line is
decoded on its own, and one that is not UTF-8 is refused with the offending byte named.
"""

from __future__ import annotations

CONTEXT = 20  # characters of the text before a bad byte, quoted so the person can find it


def decode_line(raw: bytes) -> tuple[str, str | None]:
    """``raw`` as text, and None; or, when it is not valid UTF-8, the text with U+FFFD for what
    could not be decoded, and what is wrong ("not valid UTF-8 (byte 0xe9 after 'caf')")."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].decode("utf-8", "replace")[-CONTEXT:]
        where = f"after {before!r}" if before.strip() else "at the start"
        return raw.decode("utf-8", "replace"), f"not valid UTF-8 (byte {raw[exc.start]:#04x} {where})"


def undecodable(text: str) -> str | None:
    """What is wrong with ``text`` decoded with ``surrogateescape`` (a command-line argument), or None."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no byte decodes to
        return "not valid text (it holds a lone surrogate)"
    return decode_line(raw)[1]
