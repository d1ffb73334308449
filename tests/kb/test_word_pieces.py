"""The word encoder splits words exactly as WordLlama's own tokenizer (the ``tokenizers`` library) does."""

from __future__ import annotations

import gzip
import json
import pickle
from importlib import resources
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from bot.kb.meaning import model_files
from bot.kb.word_pieces import WordPieces

EDGES = ["a", "x" * 60, "aaaaaaa", "ababab", "tf.function", "2>&1", "$?", "N+1", "café", "naïve", "日本語", "🙂",
         "emoji🙂x", "Ｔｅｎｓｏｒ", "▁", "▁▁x", "<0x0A>", "<s>", "</s>", "<unk>", "a<s>b", "x</s>y<unk>z", "<s><s>",
         "<", "<<s>>", "ab<s>"]


@pytest.fixture(scope="module")
def both() -> tuple[Tokenizer, WordPieces]:
    files = model_files()
    assert files is not None, "the wordllama wheel's tokenizer is part of the install"
    return Tokenizer.from_file(str(files[0])), WordPieces.from_tokenizer_file(files[0])


def english_words() -> list[str]:
    data = gzip.decompress((resources.files("spellchecker") / "resources" / "en.json.gz").read_bytes())
    return list(json.loads(data))


def test_words_of_every_shape_split_as_the_library_splits_them(both: tuple[Tokenizer, WordPieces]) -> None:
    library, ours = both
    listed = english_words()[::3]  # ~53,000 words, every letter of the alphabet
    shapes = [form for word in listed[::20] for form in (word.capitalize(), word.upper(), f"{word}?", f"({word}),",
                                                         f"`{word}`")]
    words = listed + shapes + EDGES
    assert len(words) > 60_000
    differ = [w for w in words if ours.encode(w) != library.encode(w, add_special_tokens=False).ids]
    assert differ == []


def test_the_tables_survive_a_pickle_and_both_ways_of_finding_merges_agree(
        both: tuple[Tokenizer, WordPieces]) -> None:
    library, ours = both
    again = pickle.loads(pickle.dumps(ours))
    words = EDGES + english_words()[1::7][:600]  # the first few hundred bisect the arrays, the rest use a dict
    assert [again.encode(w) for w in words] == [library.encode(w, add_special_tokens=False).ids for w in words]
    assert again._merges is not None  # the dict was built along the way


def test_a_tokenizer_of_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"model": {"type": "WordPiece", "vocab": {"a": 0}}}))
    with pytest.raises(ValueError, match="the model is not a BPE with byte fallback, unlike the Llama-2"):
        WordPieces.from_tokenizer_file(path)


def test_a_tokenizer_that_reads_text_differently_is_refused(tmp_path: Path) -> None:
    files = model_files()
    assert files is not None
    data = json.loads(files[0].read_text(encoding="utf-8"))
    data["pre_tokenizer"] = {"type": "Whitespace"}
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="the text is normalized or pre-tokenized differently"):
        WordPieces.from_tokenizer_file(path)
