"""The words of many texts as numpy arrays: what indexing a large deck spends most of its time on.

Why arrays: splitting 10 million words into Python strings and numbering each with a dict call
costs ~400 ns a word (a fresh string to hash, then a dict probe), most of a 100,000-entry
deck's build. Here the texts of a chunk become one byte string of letter codes, each word is
read as one integer that is equal exactly when the words are equal, and those integers are
numbered through a hash table probed with array operations (only words not seen before are
sorted); only the vocabulary (tens of thousands of words) is ever a Python string. Words are
split exactly as ``bot.kb.text.words`` splits them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bot.kb.text import fold

CHUNK = 8192  # documents tokenized at a time while indexing: bounds the memory of the arrays
DOC_END = "\x01"  # ends each document of a chunk; it is in the vocabulary but never a token
_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789" + DOC_END
# Byte table: each character a word is made of becomes its code 1..37, everything else 0 (a gap).
_CODES = bytes(_LETTERS.index(chr(c)) + 1 if chr(c) in _LETTERS else 0 for c in range(256))
_CODE_LETTERS = bytes(ord(_LETTERS[c - 1]) if 0 < c <= len(_LETTERS) else 0 for c in range(256))
_BASE = len(_LETTERS) + 1  # 38: codes are digits 1..37 of a base-38 number, so zeros only pad
_MASKS = np.array([(1 << 8 * n) - 1 for n in range(9)], dtype=np.uint64)  # the low n bytes of a uint64
# Word keys: up to 8 letters, the codes themselves as bytes (< 2**62: no code reaches 64); 9 to 12,
# above 2**62 as a base-38 number; longer (rare in any language), numbered above those.
_PACKED = 12
_MEDIUM = np.uint64(1 << 62)
_LONG = (1 << 62) + _BASE ** _PACKED
_DOC_END_KEY = len(_LETTERS)  # the one-letter word DOC_END
_EMPTY = np.uint64(2 ** 64 - 1)  # a free slot of a _KeyTable: never a word key
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)
_LANES_8, _LANES_16, _LANES_32 = (np.uint64(m) for m in (0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0xFFFFFFFF))


class Tokens(NamedTuple):
    """The words of a chunk of one field's documents, in order: word ids and the document of each."""

    words: np.ndarray  # int32 word ids
    docs: np.ndarray   # int32 document positions
    field: int


def tokenize(fields: list[list[str]]) -> tuple[list[str], list[Tokens]]:
    """The vocabulary, and the words of every field of every document, a chunk of documents at a time.

    Words are numbered in the order they first occur (fields in order, documents in order), so
    the vocabulary comes out the same however the documents are chunked. The chunks are not
    joined into arrays of the whole deck: those would be hundreds of megabytes of fresh memory
    that indexing only reads once.
    """
    vocabulary = _Vocabulary()
    chunks: list[Tokens] = []
    for field, texts in enumerate(fields):
        for start in range(0, len(texts), CHUNK):
            codes = _field_codes(texts[start:start + CHUNK])
            starts, ends = _word_spans(codes)
            keys = _word_keys(codes, starts, ends, vocabulary.long_words)
            ids = vocabulary.number(keys, codes, starts, ends)
            is_end = keys == _DOC_END_KEY
            docs = start + np.cumsum(is_end, dtype=np.int32) - is_end  # each text ends with DOC_END
            keep = ~is_end
            chunks.append(Tokens(ids[keep], docs[keep], field))
    return vocabulary.words, chunks


def _field_codes(texts: list[str]) -> bytes:
    """The texts folded and joined into one byte string of letter codes, each text followed by DOC_END.

    A few passes in C over the whole chunk, instead of a regex call per text. Characters outside
    ASCII that survive folding become gaps between words, as they do in ``words``.
    """
    joined = f" {DOC_END} ".join(texts) + f" {DOC_END}"
    if joined.count(DOC_END) != len(texts):  # a text holds DOC_END itself: it must not end a document
        joined = f" {DOC_END} ".join(text.replace(DOC_END, " ") for text in texts) + f" {DOC_END}"
    return fold(joined).encode("ascii", "replace").translate(_CODES)


def _word_spans(codes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Where each word of ``codes`` starts and ends: the runs of non-zero codes."""
    in_word = np.frombuffer(codes, dtype=np.uint8) != 0
    edges = np.flatnonzero(in_word[1:] != in_word[:-1]) + 1
    if in_word.size and in_word[0]:
        edges = np.concatenate(([0], edges))
    if in_word.size and in_word[-1]:
        edges = np.concatenate((edges, [in_word.size]))
    return edges[0::2], edges[1::2]


def _word_keys(codes: bytes, starts: np.ndarray, ends: np.ndarray, long_words: dict[bytes, int]) -> np.ndarray:
    """One uint64 per word of ``codes``: equal exactly when the words are equal.

    Most words are read straight from the bytes; only longer ones cost more work (``_PACKED``).
    ``long_words`` numbers the longest, across all chunks.
    """
    padded = codes + bytes(16)  # room to read 16 bytes from the start of the last word
    # Eight bytes starting at every position, read as one little-endian integer (the first letter lowest).
    windows = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    lengths = ends - starts
    keys = windows[starts] & _MASKS[np.minimum(lengths, 8)]
    longer = np.flatnonzero(lengths > 8)
    if longer.size:
        rest = windows[starts[longer] + 8] & _MASKS[np.minimum(lengths[longer] - 8, 4)]
        keys[longer] = _MEDIUM + _base38(keys[longer]) + _base38(rest) * np.uint64(_BASE ** 8)
    for at in np.flatnonzero(lengths > _PACKED).tolist():
        word = codes[starts[at]:ends[at]]
        keys[at] = _LONG + long_words.setdefault(word, len(long_words))
    return keys


def _base38(lanes: np.ndarray) -> np.ndarray:
    """Eight byte digits (the lowest byte first) as one base-38 number: < 38 ** 8, exact in uint64.

    Neighbouring lanes are merged three times (bytes into 16-bit lanes, those into 32-bit, then
    one), so a word costs a dozen array operations whatever its length.
    """
    lanes = (lanes & _LANES_8) + (lanes >> np.uint64(8) & _LANES_8) * np.uint64(_BASE)
    lanes = (lanes & _LANES_16) + (lanes >> np.uint64(16) & _LANES_16) * np.uint64(_BASE ** 2)
    return (lanes & _LANES_32) + (lanes >> np.uint64(32)) * np.uint64(_BASE ** 4)


class _Vocabulary:
    """Word keys numbered in the order the words first occur, and the words themselves."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.long_words: dict[bytes, int] = {}
        self._known = _KeyTable()

    def number(self, keys: np.ndarray, codes: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The word id of each key, numbering the words not seen before in the order they first occur."""
        ids = self._known.find(keys)
        unseen = np.flatnonzero(ids < 0)
        if unseen.size:
            unique, local, first = _distinct(keys[unseen])
            by_first = np.argsort(first)
            new_ids = np.empty(unique.size, dtype=np.int32)
            new_ids[by_first] = np.arange(len(self.words), len(self.words) + unique.size, dtype=np.int32)
            self.words += [codes[starts[at]:ends[at]].translate(_CODE_LETTERS).decode("ascii")
                           for at in unseen[first[by_first]].tolist()]
            self._known.add(unique, new_ids)
            ids[unseen] = new_ids[local]
        return ids


class _KeyTable:
    """A hash table from word keys (uint64) to word ids, probed for a whole array of keys at once.

    Why: numbering a chunk's words by sorting them costs ~60 ns a word, but nearly every word of
    a chunk was seen in an earlier one, and looking those up here is a few array operations.
    Open addressing with linear probing, kept at most a quarter full so most keys need one probe.
    """

    def __init__(self, bits: int = 16) -> None:
        self._bits = bits
        self._keys = np.full(1 << bits, _EMPTY, dtype=np.uint64)
        self._ids = np.zeros(1 << bits, dtype=np.int32)
        self._size = 0

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        """Each key's first slot: Fibonacci hashing (the top bits of key times 2**64 / golden ratio)."""
        return (keys * _FIBONACCI >> np.uint64(64 - self._bits)).astype(np.intp)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The id of each key, or -1 for a key not in the table."""
        slots = self._slots(keys)
        held = self._keys[slots]
        hit = held == keys
        ids = np.where(hit, self._ids[slots], -1).astype(np.int32)
        pending = np.flatnonzero(~hit & (held != _EMPTY))  # another key sits there: probe the next slot
        slots = slots[pending]
        while pending.size:
            slots = (slots + 1) & (self._keys.size - 1)
            held = self._keys[slots]
            hit = held == keys[pending]
            ids[pending[hit]] = self._ids[slots[hit]]
            going = ~hit & (held != _EMPTY)
            pending, slots = pending[going], slots[going]
        return ids

    def add(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Adds distinct keys that are not in the table yet."""
        self._size += keys.size
        if self._size * 4 > self._keys.size:
            held = self._keys != _EMPTY
            old_keys, old_ids = self._keys[held], self._ids[held]
            self._bits = max(self._bits + 1, (self._size * 4 - 1).bit_length())
            self._keys = np.full(1 << self._bits, _EMPTY, dtype=np.uint64)
            self._ids = np.zeros(1 << self._bits, dtype=np.int32)
            self._place(old_keys, old_ids)
        self._place(keys, ids)

    def _place(self, keys: np.ndarray, ids: np.ndarray) -> None:
        """Puts each key in the first free slot from its own; where several want one, one gets it."""
        slots = self._slots(keys)
        while keys.size:
            free = self._keys[slots] == _EMPTY
            self._keys[slots[free]] = keys[free]
            placed = free & (self._keys[slots] == keys)
            self._ids[slots[placed]] = ids[placed]
            keys, ids, slots = keys[~placed], ids[~placed], (slots[~placed] + 1) & (self._keys.size - 1)


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct keys (sorted), each key's index among them, and where each first occurs.

    One argsort: ``np.unique`` would need a second (stable) one for the first occurrences.
    """
    order = np.argsort(keys)
    ordered = keys[order]
    distinct = np.ones(ordered.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=distinct[1:])
    local = np.empty(keys.size, dtype=np.int64)
    local[order] = np.cumsum(distinct) - 1
    unique = ordered[distinct]
    first = np.full(unique.size, keys.size, dtype=np.int64)
    np.minimum.at(first, local, np.arange(keys.size))
    return unique, local, first
