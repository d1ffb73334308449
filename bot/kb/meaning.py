"""What a text is about beyond its exact words: static embeddings from WordLlama's bundled model.

Why: people ask in paraphrases ("each customer shows up several times once I bring in their
orders" for "why does my join return duplicate rows?"), which share few words with the entry
that answers them. Word matching (``bot.kb.deck_index``) finds the candidates; this says which
of them the question *means*, and ranking blends the two.

Why this model: WordLlama (MIT, ``pip install wordllama``) ships its 256-dimension token
embeddings (16 MB) and tokenizer inside the wheel, so it loads offline and needs no torch. A text's
vector is the mean of its token vectors, which is how the model was trained to be read. Only
the wheel's two data files are used: the tokenizer's tables through ``bot.kb.word_pieces``, the
embeddings mapped with ``numpy``. Importing the ``wordllama`` package itself would reconfigure
the process's logging.

The model is read when a deck index is built, and kept with it (``bot.kb.index_cache``): the
pickle holds the tokenizer's tables, and the embeddings are mapped from the wheel again. If the
files are missing (a different WordLlama layout), lookup logs one warning and ranks by words
alone, as it did before.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.kb.word_pieces import WordPieces

log = logging.getLogger(__name__)

TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"
WEIGHTS = Path("weights") / "l2_supercat_256.safetensors"
_NUMPY_TYPES = {"F16": np.float16, "F32": np.float32}
WORDS_KEPT = 200_000  # words whose tokens are remembered (~30 MB at most): a bound, not a working set
# The table is read from its float16 file as rows are needed (a one-shot ask needs a few dozen);
# a process that has worked out this many vectors converts it to float32 whole (~25 ms, 32 MB),
# which gathers rows ~2.5x faster (20 against 50 µs for a question of 60 tokens).
CONVERT_AFTER = 100
# Words are compared in the first 64 of the 256 dimensions: the model is trained so that its first
# 64, 128 and 256 each make an embedding (its RESULTS.md scores all three), and on the fifteen dev
# decks 64 ranks as 256 does (mean top-1 85.5 against 85.6, top-3 93.9 against 94.0) at a quarter
# of the cost, which is most of what comparing a question word by word costs.
WORD_DIMENSIONS = 64


class Meanings:
    """Unit vectors for texts: the cosine of two says how close in meaning they are."""

    def __init__(self, pieces: WordPieces, weights: Path) -> None:
        self.__setstate__((pieces, weights))

    def __getstate__(self) -> tuple[WordPieces, Path]:
        """Kept with a deck index: the tokenizer's tables and where the embeddings are, not 16 MB of them."""
        return self._pieces, self._weights

    def __setstate__(self, state: tuple[WordPieces, Path]) -> None:
        """Made, or read back with a deck index: the embeddings are mapped from their file again (a
        missing file fails the read, which rebuilds the index), and nothing is remembered yet."""
        self._pieces, self._weights = state
        self._table = _read_table(self._weights)
        self._vectors = 0  # vectors worked out: past CONVERT_AFTER the table is converted
        self._words: dict[str, list[int]] = {}
        self._last: tuple[str, np.ndarray] | None = None  # the last question and its vector
        self._word_units: dict[str, np.ndarray] = {}  # word -> its unit vector, for questions' words

    def prepare(self) -> None:
        """Converts the table and builds the encoder's dict now, so no question of a bot pays for them."""
        self._convert()
        self._pieces.prepare()

    def _convert(self) -> None:
        """The table in float32 (a no-op once it is): rows are gathered ~2.5x faster than from float16."""
        self._table = np.asarray(self._table, dtype=np.float32)

    def vector(self, text: str) -> np.ndarray:
        """The unit vector of a question, remembered for the next call with the same text.

        With several decks loaded, each deck asks for the same question's vector in turn.
        """
        if self._last is None or self._last[0] != text:
            self._last = (text, self._unit(self._token_ids(text)))
        return self._last[1]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text (zeros for a text with no tokens), as float32 rows."""
        return np.array([self._unit(self._token_ids(text)) for text in texts], dtype=np.float32).reshape(
            len(texts), -1)

    def question_word_vectors(self, words: list[str]) -> np.ndarray:
        """``word_vectors`` for a question's words, each remembered: people ask with the same few
        hundred words, and working them out cost ~30 µs of every question."""
        missing = [w for w in dict.fromkeys(words) if w not in self._word_units]
        if missing:
            if len(self._word_units) + len(missing) > WORDS_KEPT:
                self._word_units.clear()
            self._word_units.update(zip(missing, self.word_vectors(missing)))
        return np.array([self._word_units[w] for w in words], dtype=np.float32).reshape(len(words), -1)

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """One unit vector per word (the direction of its tokens' mean in ``WORD_DIMENSIONS``), float32 rows.

        For comparing a question with an entry word by word (``DeckIndex._soft_coverage``): "mute"
        is near "silence" and "boss" near "manager" where the mean vectors of two texts are not.
        """
        ids = [self._token_ids(word) for word in words]
        flat = [i for word_ids in ids for i in word_ids]
        before, self._vectors = self._vectors, self._vectors + len(words)
        if before < CONVERT_AFTER <= self._vectors:
            self._convert()
        if not flat:
            return np.zeros((len(words), WORD_DIMENSIONS), dtype=np.float32)
        rows = self._table[flat, :WORD_DIMENSIONS].astype(np.float32, copy=False)  # one gather for every word
        starts = np.minimum(np.cumsum([0] + [len(word_ids) for word_ids in ids[:-1]]), len(flat) - 1)
        sums = np.add.reduceat(rows, starts, axis=0)
        sums[[not word_ids for word_ids in ids]] = 0.0  # reduceat gives a word of no tokens a row it does not have
        norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
        return sums / np.where(norms > 0, norms, 1.0)[:, None]

    def _unit(self, ids: list[int]) -> np.ndarray:
        """The direction of the tokens' mean (that of their sum: no need to divide)."""
        self._vectors += 1
        if self._vectors == CONVERT_AFTER:
            self._convert()
        rows = self._table[ids].astype(np.float32, copy=False)  # the float32 values, converted or not
        total = rows.sum(axis=0) if ids else np.zeros(self._table.shape[1], dtype=np.float32)
        norm = float(np.sqrt(total @ total))
        return total / norm if norm > 0 else total

    def _token_ids(self, text: str) -> list[int]:
        """The text's tokens, a word at a time through a cache of each word's tokens.

        The model's tokenizer never joins across a space, so a text's tokens are its words'
        tokens in turn (line breaks count as spaces here). Entries are read when they first become
        candidates, and on a large deck that is most of a query's time: a 700-character entry
        costs ~350 µs to tokenize whole, ~70 µs from cached words.
        """
        ids: list[int] = []
        for word in text.split():
            cached = self._words.get(word)
            if cached is None:
                if len(self._words) >= WORDS_KEPT:
                    self._words.clear()
                cached = self._words[word] = self._pieces.encode(word)
            ids += cached
        return ids


def _read_table(path: Path) -> np.ndarray:
    """The one tensor of a safetensors file, mapped from disk as stored (16 MB of float16).

    Mapped, not read: a query gathers a few dozen rows, and converting the whole table to
    float32 first cost ~25 ms of every one-shot ``studybot ask``. The format is an 8-byte header
    length, a JSON header naming each tensor's type, shape and byte range, then the raw data.
    """
    with path.open("rb") as file:
        header_size = int.from_bytes(file.read(8), "little")
        header = json.loads(file.read(header_size))
    spec = next(v for k, v in header.items() if k != "__metadata__")
    start = 8 + header_size + spec["data_offsets"][0]
    return np.memmap(path, dtype=_NUMPY_TYPES[spec["dtype"]], mode="r", offset=start, shape=tuple(spec["shape"]))


def model_files() -> tuple[Path, Path] | None:
    """The tokenizer and the embeddings in the installed WordLlama wheel, if both are there."""
    spec = importlib.util.find_spec("wordllama")  # finds the folder without running its __init__
    for folder in map(Path, list(spec.submodule_search_locations or []) if spec else []):
        if (folder / TOKENIZER).is_file() and (folder / WEIGHTS).is_file():
            return folder / TOKENIZER, folder / WEIGHTS
    return None


@lru_cache(maxsize=1)
def meanings() -> Meanings | None:
    """The bundled model, read once; None (with one warning) when the wheel's files are not there."""
    files = model_files()
    if files is None:
        log.warning("lookup ranks by words only: WordLlama's bundled model was not found "
                    "(pip install 'wordllama>=0.4,<0.5')")
        return None
    try:
        return Meanings(WordPieces.from_tokenizer_file(files[0]), files[1])
    except Exception as error:  # noqa: BLE001 - a damaged or foreign file can fail in any way; words still rank
        log.warning("lookup ranks by words only: WordLlama's model in %s cannot be read (%s)",
                    files[0].parent.parent, error)
        return None
