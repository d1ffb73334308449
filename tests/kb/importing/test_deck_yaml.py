"""Deck YAML reads back as exactly the data written, whatever the text holds."""

from __future__ import annotations

import pytest
import yaml

from bot.kb.importing import deck_yaml as module
from bot.kb.importing.deck_yaml import deck_yaml

TRICKY = [
    "plain text", "yes", "No", "on", "y", "1", "-5", "1.5", "1e3", "0x1F", "1_000", "~", "null", "2001-12-14",
    "12:30", "1:20:30", "<<", "=", "- item", "#hash", "a: b", "a #b", "key:", "trailing ", " leading", "'quote",
    '"double"', "tab\there", "emoji 🎉 ok", "line\u2028sep", "nel\x85x", "del\x7fx", "bom\ufeffx", "[flow]",
    "{x: 1}", "*alias", "&anchor", "!tag", "|pipe", ">fold", "%dir", "@at", "`tick`", "?q", ",comma", "a, b [c]",
    "back\\slash", "multi\nline", "para\n\n  indented code\nend", "  code first\nline", "ends with newline\n",
    "\nleading newline", "blank spaces\n   \nbetween", "crlf\r\nline", "trailing spaces  \nnext", "tab\n\tstart",
    "ünïcödé\nzweite Zeile", "",
]


def test_every_tricky_text_reads_back_the_same_as_value_and_as_key() -> None:
    data: dict[str, object] = {
        "entries": [{"id": text, "quiz": [{"choices": [{"text": text, "correct": True}, {"text": "x"}]}]}
                    for text in TRICKY],
        "topics": {text or "empty": text for text in TRICKY if "\n" not in text},
    }
    text = deck_yaml(data)
    assert yaml.safe_load(text) == data


def test_plain_decks_take_the_fast_path_in_the_house_style(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module.yaml, "dump", None)  # the fallback would fail: it must not be needed
    data: dict[str, object] = {"entries": [{"id": "hola", "topic": "words", "keywords": ["greeting"],
                                            "answer": "Hello.\n\n- said on arrival\n- informal",
                                            "quiz": [{"id": "q1", "choices": [{"text": "hello", "correct": True},
                                                                              {"text": "4"}]}]}]}
    assert deck_yaml(data) == (
        "entries:\n"
        "  - id: hola\n"
        "    topic: words\n"
        "    keywords:\n"
        "      - greeting\n"
        "    answer: |-\n"
        "      Hello.\n"
        "\n"
        "      - said on arrival\n"
        "      - informal\n"
        "    quiz:\n"
        "      - id: q1\n"
        "        choices:\n"
        "          - text: hello\n"
        "            correct: true\n"
        '          - text: "4"\n'
    )


def test_pyyaml_writes_the_file_when_the_fast_path_would_change_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "_block_safe", lambda text: True)  # now "  code" would lose its indent
    data: dict[str, object] = {"answer": "  code first\nline"}
    text = deck_yaml(data)
    assert yaml.safe_load(text) == data
    assert text == yaml.dump(data, Dumper=module._IndentedDumper, sort_keys=False, allow_unicode=True, width=100)
