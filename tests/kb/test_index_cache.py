"""Built libraries kept on disk ([decks] cache): read back only when nothing they depend on changed."""

from __future__ import annotations

import gc
import logging
import os
import pickle
import subprocess
import sys
import time
import weakref
from pathlib import Path

import numpy
import pytest
import yaml

import bot.kb.library
from bot.config import Config, DecksSection
from bot.kb import english, index_cache
from bot.kb.deck_index import DeckIndex
from bot.kb.library import Library, configured_library, load_library, served_library
from tests.kb.devset_eval import DEVSET

REPO = Path(__file__).resolve().parents[2]

DECK = """\
name: cache-test
title: Cache test
description: A deck for the cache tests.
topics:
  basics: Basics
"""
ENTRIES = """\
entries:
  - id: {id}
    topic: basics
    question: How do I {verb} a widget?
    answer: Use the widget {verb} button.
    quiz:
      - id: c1
        prompt: Which button {verb}s a widget?
        choices:
          - {{text: The widget {verb} button, correct: true}}
          - {{text: The gadget button}}
        explanation: It is named for what it does.
"""


def write_deck(folder: Path, entry_id: str = "fold-widget", verb: str = "fold") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "deck.yaml").write_text(DECK)
    (folder / "entries.yaml").write_text(ENTRIES.format(id=entry_id, verb=verb))
    return folder


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts libraries built from YAML (not read from the cache)."""
    built: list[int] = []
    real = bot.kb.library._built

    def counting(*args: object, **kwargs: object) -> Library:
        built.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.kb.library, "_built", counting)
    return built


def ranked(library: Library, query: str) -> tuple[bool, list[tuple[str, float]]]:
    result = library.search(query)
    return result.answered, [(m.entry.id, m.score) for m in result.matches]


def test_a_library_read_back_answers_every_dev_query_as_a_fresh_one(tmp_path: Path, builds: list[int]) -> None:
    load_library(cache=tmp_path)
    cached = load_library(cache=tmp_path)
    assert builds == [1]  # the second came from the file
    assert all(deck._threshold is not None for deck in cached.index._decks)  # worked out once, kept
    fresh = load_library()
    queries = [case["q"] for case in yaml.safe_load(DEVSET.read_text())]
    assert len(queries) > 200
    for query in queries:
        assert ranked(cached, query) == ranked(fresh, query), query


def test_a_library_prepared_for_serving_answers_as_one_that_prepares_as_it_goes(tmp_path: Path) -> None:
    """``studybot run`` prepares its library before the first question; ``ask`` does not: same answers."""
    load_library(cache=tmp_path)
    served, one_shot = load_library(cache=tmp_path), load_library(cache=tmp_path)  # each read back, unprepared
    model = served.index._decks[0]._model
    assert model is not None and model._table.dtype == numpy.float16 and model._pieces._merges is None
    served.index.prepare()
    assert model._table.dtype == numpy.float32 and model._pieces._merges is not None
    assert english._word_list()._lines is not None
    queries = [case["q"] for case in yaml.safe_load(DEVSET.read_text())][:60]  # before one_shot converts its table
    for query in queries:
        assert ranked(one_shot, query) == ranked(served, query), query


def test_an_edited_deck_is_read_again_even_at_the_same_size_and_time(tmp_path: Path, builds: list[int]) -> None:
    deck = write_deck(tmp_path / "deck")
    first = load_library([deck], include_builtin=False, cache=tmp_path / "cache")
    assert first.entry("fold-widget") is not None
    entries = deck / "entries.yaml"
    stat = entries.stat()
    write_deck(deck, entry_id="bend-widget", verb="bend")  # same length as "fold"
    os.utime(entries, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert entries.stat().st_size == stat.st_size and entries.stat().st_mtime_ns == stat.st_mtime_ns
    second = load_library([deck], include_builtin=False, cache=tmp_path / "cache")
    assert builds == [1, 1]
    assert second.entry("fold-widget") is None and second.entry("bend-widget") is not None
    assert second.search("bend a widget").best.entry.id == "bend-widget"  # type: ignore[union-attr]


def test_a_damaged_file_is_named_rebuilt_and_replaced(tmp_path: Path, builds: list[int],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    deck = write_deck(tmp_path / "deck")
    load_library([deck], include_builtin=False, cache=tmp_path / "cache")
    [kept] = (tmp_path / "cache").glob("library-*.pickle")
    kept.write_bytes(kept.read_bytes()[:100])  # cut short, as by a full disk
    with caplog.at_level(logging.WARNING):
        library = load_library([deck], include_builtin=False, cache=tmp_path / "cache")
    assert library.search("fold a widget").best.entry.id == "fold-widget"  # type: ignore[union-attr]
    assert f"the deck index kept in {kept} cannot be read" in caplog.text
    assert "indexing the decks again" in caplog.text
    caplog.clear()
    load_library([deck], include_builtin=False, cache=tmp_path / "cache")
    assert builds == [1, 1] and caplog.text == ""  # the rewritten file was read


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path, builds: list[int],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    deck = write_deck(tmp_path / "deck")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    with caplog.at_level(logging.WARNING):
        library = load_library([deck], include_builtin=False, cache=blocked / "studybot")
    assert library.entry("fold-widget") is not None
    assert f"the index cannot be kept in {blocked / 'studybot'}" in caplog.text
    assert "set [decks] cache = false" in caplog.text


def test_a_file_that_cannot_be_put_in_place_leaves_nothing_behind(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    deck = write_deck(tmp_path / "deck")
    cache = tmp_path / "cache"
    (cache / f"library-{index_cache.fingerprint([deck])}.pickle").mkdir(parents=True)  # a folder in its place
    with caplog.at_level(logging.WARNING):
        library = load_library([deck], include_builtin=False, cache=cache)
    assert library.entry("fold-widget") is not None
    assert "IsADirectoryError" in caplog.text and "the index cannot be kept" in caplog.text
    assert [p.name for p in cache.iterdir()] == [f"library-{index_cache.fingerprint([deck])}.pickle"]


def test_a_read_only_cache_is_still_read(tmp_path: Path, builds: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    deck = write_deck(tmp_path / "deck")
    load_library([deck], include_builtin=False, cache=tmp_path / "cache")

    def read_only(*args: object) -> None:
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(index_cache.os, "utime", read_only)
    assert load_library([deck], include_builtin=False, cache=tmp_path / "cache").entry("fold-widget") is not None
    assert builds == [1]


def test_a_file_of_another_kind_or_writable_by_others_is_not_read(tmp_path: Path, builds: list[int],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    deck = write_deck(tmp_path / "deck")
    cache = tmp_path / "cache"
    kept = cache / f"library-{index_cache.fingerprint([deck])}.pickle"
    cache.mkdir()
    kept.write_bytes(pickle.dumps({"not": "a library"}))
    with caplog.at_level(logging.WARNING):
        load_library([deck], include_builtin=False, cache=cache)
    assert f"the deck index kept in {kept} holds a dict; indexing the decks again" in caplog.text
    kept.chmod(0o666)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_library([deck], include_builtin=False, cache=cache)
    assert f"the deck index kept in {kept} is not read: another user can write it or owns it" in caplog.text
    assert builds == [1, 1]
    assert kept.stat().st_mode & 0o077 == 0  # written again, for this user alone
    assert load_library([deck], include_builtin=False, cache=cache).entry("fold-widget") is not None
    assert builds == [1, 1]


def test_a_library_built_without_its_model_is_not_kept(tmp_path: Path, builds: list[int]) -> None:
    import bot.kb.deck_index

    deck = write_deck(tmp_path / "deck")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.kb.deck_index, "meanings", lambda: None)  # as when its file failed to read once
        assert load_library([deck], include_builtin=False, cache=tmp_path / "cache").index.missing_model
    assert not list((tmp_path / "cache").glob("library-*"))
    again = load_library([deck], include_builtin=False, cache=tmp_path / "cache")
    assert not again.index.missing_model and list((tmp_path / "cache").glob("library-*"))
    assert builds == [1, 1]


def test_only_the_most_recently_used_libraries_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_cache, "KEPT", 2)
    cache = tmp_path / "cache"
    cache.mkdir()
    killed, writing = cache / ".writing-killed", cache / ".writing-now"  # left by a writer killed midway, and live
    killed.write_bytes(b"half")
    writing.write_bytes(b"half")
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    for verb in ("fold", "bend", "spin"):
        load_library([write_deck(tmp_path / verb, entry_id=f"{verb}-widget", verb=verb)], include_builtin=False,
                     cache=cache)
    kept = list(cache.glob("library-*.pickle"))
    assert len(kept) == 2
    assert {index_cache.fingerprint([tmp_path / v]) for v in ("bend", "spin")} == \
           {p.name.removeprefix("library-").removesuffix(".pickle") for p in kept}
    assert not killed.exists() and writing.exists()


def test_the_key_changes_with_the_lookup_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deck = write_deck(tmp_path / "deck")
    code = tmp_path / "code"
    code.mkdir()
    (code / "search.py").write_text("RANK = 1\n")
    monkeypatch.setattr(index_cache, "_CODE", code)
    before = index_cache.fingerprint([deck])
    (code / "search.py").write_text("RANK = 2\n")
    assert index_cache.fingerprint([deck]) != before
    assert index_cache.fingerprint([deck]) == index_cache.fingerprint([deck])


def test_the_configured_folder_is_the_user_cache_and_can_be_turned_off(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Config().cache_dir() == tmp_path / "xdg" / "studybot"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Config().cache_dir() == tmp_path / "home" / ".cache" / "studybot"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "home", classmethod(lambda cls: (_ for _ in ()).throw(RuntimeError("no home"))))
        with caplog.at_level(logging.WARNING):
            assert Config().cache_dir() is None  # a container user without a home: not kept, and said so
    assert "there is no home folder; set XDG_CACHE_HOME" in caplog.text
    off = Config(decks=DecksSection(cache=False))
    assert off.cache_dir() is None
    assert configured_library(off).entry("eager-execution") is not None
    assert not (tmp_path / "home" / ".cache").exists()


def test_a_warm_ask_does_not_import_the_deck_parser(tmp_path: Path) -> None:
    """What makes a one-shot `studybot ask` fast: with the decks unchanged, no YAML is read."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    code = ("import sys; from bot.cli import main; main(['ask', 'eager execution', '--json']); "
            "print(sorted(m for m in ('yaml', 'bot.kb.loader') if m in sys.modules))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                           timeout=60) for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout.splitlines()[-1] == "['bot.kb.loader', 'yaml']"  # the first run read the decks
    assert runs[1].stdout.splitlines()[-1] == "[]"
    assert runs[0].stdout.splitlines()[0] == runs[1].stdout.splitlines()[0]  # and both answered alike
    assert '"id": "eager-execution"' in runs[1].stdout


@pytest.fixture
def unfrozen() -> object:
    """Puts back whatever a test set aside from the collector, so the rest of the suite runs as before."""
    yield
    gc.unfreeze()


def test_a_served_index_is_out_of_full_collections_way_and_freed_when_a_reload_replaces_it(
        tmp_path: Path, unfrozen: object) -> None:
    """A full collection on a 100,000-entry deck walked the index for 220-240 ms; a served one is set
    aside (``set_aside_long_lived``), and setting aside never keeps an index a reload let go of."""
    config = Config(decks=DecksSection(cache=False))
    first = served_library(config)
    walked = {id(o) for o in gc.get_objects()}
    assert id(first.index._decks[0]) not in walked and id(first.index) not in walked
    assert gc.get_freeze_count() > 0
    gone = weakref.ref(first.index._decks[0])
    del first, walked
    second = served_library(config)  # a reload: the old library dropped, the new one set aside
    assert gone() is None
    assert isinstance(second.index._decks[0], DeckIndex)
    assert id(second.index._decks[0]) not in {id(o) for o in gc.get_objects()}
