"""YAML text for deck files, written the way people write decks by hand, and fast.

PyYAML's own emitter is pure Python: for a 5,000-note import it took longer than everything
else together (22 s of 42 s on a loaded machine). Decks hold only mappings, lists, text and
true/false, so this emitter writes those directly: plain text where YAML reads it back as the
same text (PyYAML's resolver decides), block scalars (``|-``) for several lines, JSON-style
double quotes otherwise. Every document is read back with the C loader and compared with the
data; if anything differs, PyYAML's emitter writes that file instead, so the output is always
exactly the data.
"""

from __future__ import annotations

import json
import re

import yaml

try:  # libyaml is much faster; the pure-Python loader gives the same values.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_RESOLVER = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
# Characters that may not start a plain scalar, or that are unsafe anywhere in one.
_PLAIN_START = set("-?:,[]{}#&*!|>'\"%@` \t")
_PLAIN_UNSAFE = re.compile(r": |\s#|[\t\n\r\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|:$|\s$")
# YAML reads these raw as line breaks or refuses them, so quoted text escapes them.
_ESCAPE = re.compile(r"[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_BLOCK_UNSAFE = re.compile(r"[\r\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|\n[ \t]+\n|\n[ \t]+$")


class _IndentedDumper(yaml.SafeDumper):
    """PyYAML's emitter, lists indented under their key: the fallback when the fast path differs."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(_STR_TAG, value, style="|" if "\n" in value else None)


_IndentedDumper.add_representer(str, _represent_text)


def deck_yaml(data: dict[str, object]) -> str:
    """``data`` (mappings, lists, text, true/false) as YAML text that reads back as exactly ``data``."""
    lines: list[str] = []
    _mapping(data, 0, lines, None)
    text = "\n".join(lines) + "\n"
    try:
        if yaml.load(text, Loader=_Loader) == data:
            return text
    except yaml.YAMLError:
        pass  # the fast path wrote something YAML cannot read: PyYAML writes this one
    return yaml.dump(data, Dumper=_IndentedDumper, sort_keys=False, allow_unicode=True, width=100)


def _mapping(mapping: dict[str, object], indent: int, lines: list[str], first: str | None) -> None:
    pad = " " * indent
    for n, (key, value) in enumerate(mapping.items()):
        head = f"{first if n == 0 and first is not None else pad}{_inline(str(key))}:"
        if isinstance(value, dict) and value:
            lines.append(head)
            _mapping(value, indent + 2, lines, None)
        elif isinstance(value, list) and value:
            lines.append(head)
            _sequence(value, indent + 2, lines)
        else:
            _scalar(head, value, indent + 2, lines)


def _sequence(items: list[object], indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            _mapping(item, indent + 2, lines, pad + "- ")
        else:
            _scalar(pad + "-", item, indent + 2, lines)


def _scalar(head: str, value: object, indent: int, lines: list[str]) -> None:
    if isinstance(value, bool):
        lines.append(f"{head} {'true' if value else 'false'}")
    elif value == {} or value == []:
        lines.append(f"{head} {value}")
    elif isinstance(value, str) and "\n" in value and _block_safe(value):
        lines.append(f"{head} |-")
        lines.extend(" " * indent + line if line else "" for line in value.split("\n"))
    else:
        lines.append(f"{head} {_inline(str(value))}")


def _inline(text: str) -> str:
    """``text`` plain when YAML reads it back as that same text, else double-quoted."""
    if (text and text[0] not in _PLAIN_START and not _PLAIN_UNSAFE.search(text)
            and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG):
        return text
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _block_safe(text: str) -> bool:
    """Whether a ``|-`` block holds ``text`` unchanged: no leading space, no trailing newline, no odd breaks."""
    return text[0] not in " \t\n" and not text.endswith("\n") and not _BLOCK_UNSAFE.search(text)
