"""A word's tokens as WordLlama's tokenizer splits it, from tables that load in milliseconds.

Why not the ``tokenizers`` library that ships the model: building its tokenizer from the
1.8 MB JSON takes ~80 ms, a third of a one-shot ``studybot ask`` that then encodes a dozen
words. The tables here are worked out from that same JSON and kept with the deck index
(``bot.kb.index_cache``), where they load in ~3 ms; ``tests/kb/test_word_pieces.py`` checks
the result against ``tokenizers`` itself on 60,000 words of every shape (the whole English word
list, 300,000 forms, when this was written).

The model is Llama-2's byte-pair encoding: a word is "▁" and its characters (a character the
vocabulary lacks becomes its UTF-8 bytes, as ``<0xNN>`` tokens); then, again and again, the
adjacent pair whose merge was learnt first is merged, leftmost first, until no pair merges.
Special tokens typed in a word ("<s>") are cut out first, as the library does, and the parts
around them are words of their own.
"""

from __future__ import annotations

import json
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable
from pathlib import Path

WORD_START = "\u2581"  # "▁": the tokenizer's normalizer puts it before every word
_BITS = 16  # token ids and merge ranks are below 65,536: a pair or a merge packs into one int
_MASK = (1 << _BITS) - 1
# Merges are kept as two sorted arrays, which a pickle restores in ~3 ms where a dict of 61,000
# takes ~22 ms of a one-shot ask; a word's pairs are bisected there, ~3x slower than a dict, so a
# process that encodes more words than this (a bot reading its decks) builds the dict.
_DICT_AFTER = 300


class WordPieces:
    """Encodes single words (no spaces) into the model's token ids."""

    def __init__(self, characters: dict[str, int], byte_ids: list[int], merges: dict[int, int],
                 specials: dict[str, int]) -> None:
        self._characters = characters  # one-character tokens
        self._byte_ids = byte_ids      # token of each byte value, for characters not in the vocabulary
        # (left << 16 | right) -> (rank << 16 | merged): rank first when compared; as sorted arrays
        self._pairs = array("q", sorted(merges))
        self._ranks = array("q", (merges[pair] for pair in self._pairs))
        self._merges: dict[int, int] | None = None  # the same as a dict, once many words are encoded
        self._encoded = 0
        self._specials = specials      # "<s>" -> 1: matched in the raw text before anything else
        longest_first = sorted(specials, key=len, reverse=True)
        self._special = re.compile("(" + "|".join(map(re.escape, longest_first)) + ")") if specials else None
        self._special_starts = frozenset(token[0] for token in specials)

    @classmethod
    def from_tokenizer_file(cls, path: Path) -> WordPieces:
        """Reads a ``tokenizers`` JSON file holding the kind of tokenizer this encoder reproduces.

        Raises:
            ValueError: the file holds another kind (a new WordLlama tokenizer would need a look).
        """
        data = json.loads(path.read_text(encoding="utf-8"))
        model = data["model"]
        problem = _unlike_llama(data)
        if problem:
            raise ValueError(f"{path}: {problem}, unlike the Llama-2 tokenizer bot/kb/word_pieces.py reproduces")
        vocab: dict[str, int] = model["vocab"]
        characters = {token: i for token, i in vocab.items() if len(token) == 1}
        byte_ids = [vocab[f"<0x{value:02X}>"] for value in range(256)]
        merges: dict[int, int] = {}
        for rank, merge in enumerate(model["merges"]):
            left, right = merge.split(" ") if isinstance(merge, str) else merge
            merges[vocab[left] << _BITS | vocab[right]] = rank << _BITS | vocab[left + right]
        specials = {added["content"]: added["id"] for added in data.get("added_tokens", [])}
        return cls(characters, byte_ids, merges, specials)

    def encode(self, word: str) -> list[int]:
        """The token ids of ``word`` (one word: the tokenizer never merges across a space)."""
        if self._special is None or self._special_starts.isdisjoint(word):
            return self._merged(word)
        ids: list[int] = []
        for i, part in enumerate(self._special.split(word)):  # odd parts are the special tokens
            if i % 2:
                ids.append(self._specials[part])
            elif part:
                ids += self._merged(part)
        return ids

    def _merged(self, word: str) -> list[int]:
        ids: list[int] = []
        for character in WORD_START + word:
            found = self._characters.get(character)
            if found is None:
                ids += [self._byte_ids[value] for value in character.encode("utf-8")]
            else:
                ids.append(found)
        merge_of = self._merge_lookup()
        while len(ids) > 1:
            best, at = -1, -1
            for i in range(len(ids) - 1):
                merge = merge_of(ids[i] << _BITS | ids[i + 1])
                if merge is not None and (best < 0 or merge < best):  # strictly: the leftmost of equals
                    best, at = merge, i
            if at < 0:
                break
            ids[at:at + 2] = [best & _MASK]
        return ids

    def prepare(self) -> None:
        """Builds the merges dict now: a process about to encode many words (a bot) pays once, at start."""
        if self._merges is None:
            self._merges = dict(zip(self._pairs, self._ranks))

    def _merge_lookup(self) -> Callable[[int], int | None]:
        """How a pair's merge is found: bisecting the arrays for the first words, then a dict."""
        if self._merges is None:
            self._encoded += 1
            if self._encoded <= _DICT_AFTER:
                return self._bisected
            self.prepare()
        assert self._merges is not None
        return self._merges.get

    def _bisected(self, pair: int) -> int | None:
        at = bisect_left(self._pairs, pair)
        return self._ranks[at] if at < len(self._pairs) and self._pairs[at] == pair else None

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the dict, which is rebuilt when needed (see ``_DICT_AFTER``)."""
        return dict(self.__dict__, _merges=None, _encoded=0)


def _unlike_llama(data: dict) -> str | None:
    """How a tokenizer file differs from what ``WordPieces`` reproduces, or None."""
    model = data.get("model") or {}
    prepend_and_replace = [{"type": "Prepend", "prepend": WORD_START},
                           {"type": "Replace", "pattern": {"String": " "}, "content": WORD_START}]
    if model.get("type") != "BPE" or not model.get("byte_fallback"):
        return "the model is not a BPE with byte fallback"
    if model.get("dropout") or model.get("ignore_merges") or model.get("continuing_subword_prefix") \
            or model.get("end_of_word_suffix"):
        return "the BPE model has dropout, ignore_merges, a subword prefix or a word suffix"
    if len(model["vocab"]) > _MASK or len(model["merges"]) > _MASK:
        return "the vocabulary or the merges are too many to pack into 16 bits"
    if (data.get("normalizer") or {}).get("normalizers") != prepend_and_replace or data.get("pre_tokenizer"):
        return "the text is normalized or pre-tokenized differently"
    if any(not added.get("special") or added.get("normalized") for added in data.get("added_tokens", [])):
        return "it has added tokens that are not special"
    return None
