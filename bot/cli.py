"""The ``studybot`` command.

Each command imports what it needs when it runs: ``--version`` needs nothing, commands that only
read decks (``ask``, ``kb``) import neither asyncio, the store, the chat libraries nor the
database driver. A one-shot ``studybot ask`` still pays for numpy, the deck and the meaning model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from bot import __version__
from bot.blas import one_thread
from bot.config import ConfigError, load_config
from bot.typed_text import decode_line, undecodable

if TYPE_CHECKING:
    from bot.kb.library import Library
    from bot.kb.search import SearchResult


# Commands that hold nothing to close when they return (no database, no threads, only stdout and
# stderr written): the process may end without Python's teardown (see ``program``).
ONE_SHOT = frozenset({"ask"})


def program() -> NoReturn:
    """What the ``studybot`` command and ``python -m bot`` run: ``main``, then the exit.

    After a one-shot command the process ends at once (``os._exit``, once stdout and stderr are
    flushed): Python's teardown frees the deck index object by object and unloads every module,
    30-50 ms, more than the lookup itself. Other commands exit the ordinary way, so their threads
    and ``atexit`` work finish.
    """
    status = main()
    if sys.argv[1:2] and sys.argv[1] in ONE_SHOT:
        _exit_now(status)
    raise SystemExit(status)


def _exit_now(status: int) -> NoReturn:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away: what it missed is its own choice
        status = status or 1
    os._exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the process exit status."""
    one_thread()  # before any command imports numpy
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader went away (`studybot kb list | head`): nothing more to say, and no traceback.
        # Python's documented remedy: point stdout at devnull so the exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        status = _report(exc)
        if status is None:
            raise
        return status


def _report(exc: Exception) -> int | None:
    """Prints a failure the person can act on and returns the exit status; None for a bug.

    The error types are imported here, not at the top: a command that raised one has loaded its
    module already, and the others never pay for importing them.
    """
    from bot.kb.loader import DeckError
    from bot.startup import StartupError
    from bot.store.base import StoreError
    from bot.store.lock import DataFolderBusy, DataFolderError

    if isinstance(exc, DeckError):
        print(f"The decks have {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    failures: tuple[tuple[type[Exception], str, int], ...] = (
        (ConfigError, "Configuration error", 2),
        (DataFolderBusy, "Not started", 1),
        (DataFolderError, "Data folder error", 1),
        (StoreError, "Database error", 1),
        (StartupError, "Start-up error", 1),
    )
    for kind, label, status in failures:
        if isinstance(exc, kind):
            print(f"{label}: {exc}", file=sys.stderr)
            return status
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studybot", description="A study bot for team chat.")
    parser.add_argument("--version", action="version", version=f"studybot {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="config file (TOML); see config.example.toml")
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data-dir", type=Path, help="folder for the SQLite file (default: see README)")
    sub = parser.add_subparsers(metavar="COMMAND")

    ask = sub.add_parser("ask", parents=[common], help="look a question up in the decks")
    ask.add_argument("query", help="the question, or - to read one query per line from stdin")
    ask.add_argument("--deck", help="search only this deck")
    ask.add_argument("--top", type=_positive, default=3, help="how many matches to show (default 3)")
    ask.add_argument("--json", action="store_true", help="print JSON (one object per line)")
    ask.set_defaults(handler=_ask)

    kb = sub.add_parser("kb", help="inspect and validate knowledge decks")
    kb_sub = kb.add_subparsers(metavar="ACTION", required=True)
    kb_list = kb_sub.add_parser("list", parents=[common], help="list every entry")
    kb_list.add_argument("--json", action="store_true", help="print a JSON array")
    kb_list.set_defaults(handler=_kb_list)
    kb_show = kb_sub.add_parser("show", parents=[common], help="show one entry with its quiz cards")
    kb_show.add_argument("id", help="entry id, or deck/id")
    kb_show.set_defaults(handler=_kb_show)
    kb_validate = kb_sub.add_parser("validate", parents=[common], help="check decks, list every problem")
    kb_validate.add_argument("paths", nargs="*", type=Path,
                             help="deck folders or folders of decks (default: the configured decks)")
    kb_validate.set_defaults(handler=_kb_validate)
    kb_import = kb_sub.add_parser("import", help="make a deck folder from a CSV/TSV file or an Anki package")
    kb_import.add_argument("file", type=Path, help="a .csv, .tsv or Anki .apkg file")
    kb_import.add_argument("--deck", help="the deck's name (default: from the file name)")
    kb_import.add_argument("--out", type=Path, help="folder to create (default: ./DECK)")
    kb_import.add_argument("--force", action="store_true", help="replace the deck already in --out")
    kb_import.set_defaults(handler=_kb_import)
    kb_score = kb_sub.add_parser("score", help="how lookup does on a deck's own queries.yaml, per kind of question")
    kb_score.add_argument("paths", nargs="+", type=Path, help="deck folders (or folders of decks) with a queries.yaml")
    kb_score.add_argument("--misses", action="store_true", help="also list every wrong decision")
    kb_score.set_defaults(handler=_kb_score)
    kb_gaps = kb_sub.add_parser("gaps", parents=[common, data], help="questions that got no confident answer")
    kb_gaps.add_argument("--limit", type=_positive, default=30)
    kb_gaps.set_defaults(handler=_kb_gaps)

    run = sub.add_parser("run", parents=[common, data], help="start the bot (console when no config is given)")
    run.set_defaults(handler=_run)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(metavar="ACTION", required=True)
    db_sub.add_parser("upgrade", parents=[common, data], help="create or migrate the database").set_defaults(
        handler=_db_upgrade)
    db_copy = db_sub.add_parser("copy", parents=[common], help="copy every table into an empty database, verified",
                                description="Copies SQLite to PostgreSQL or back. SRC and DST are a SQLite file (or "
                                            "a data folder holding studybot.sqlite3) or a postgresql:// URL; the "
                                            "password comes from [store] password_env. Stop the bots first.")
    db_copy.add_argument("source", metavar="SRC")
    db_copy.add_argument("destination", metavar="DST")
    db_copy.set_defaults(handler=_db_copy)

    review = sub.add_parser("review", help="spaced-repetition data")
    review_sub = review.add_subparsers(metavar="ACTION", required=True)
    export = review_sub.add_parser("export", parents=[common, data], help="write a person's review log as CSV")
    export.add_argument("--user", required=True, help="the person's user id on the platform")
    export.add_argument("--platform", default="console", help="console, discord or slack (default: console)")
    export.add_argument("--workspace", help="Discord server id or Slack team id (default: local, the console's)")
    export.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    export.set_defaults(handler=_review_export)

    discord = sub.add_parser("discord", help="Discord set-up")
    discord_sub = discord.add_subparsers(metavar="ACTION", required=True)
    sync = discord_sub.add_parser("sync", parents=[common], help="register the slash commands with Discord")
    sync.add_argument("--guild", type=int, help="a server id: instant, for testing (default: global)")
    sync.set_defaults(handler=_discord_sync)
    return parser


def _positive(text: str) -> int:
    """A count typed on the command line; argparse shows the message after the option's name."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more (e.g. 3), got {text!r}")
    return int(text)


def _library(args: argparse.Namespace) -> Library:
    from bot.kb.library import configured_library

    return configured_library(load_config(args.config))


def _ask(args: argparse.Namespace) -> int:
    library = _library(args)
    if args.deck and library.deck(args.deck) is None:
        names = ", ".join(d.name for d in library.decks)
        print(f"No deck named {args.deck!r}. Decks: {names}", file=sys.stderr)
        return 2
    if args.query != "-":
        problem = undecodable(args.query)
        if problem:
            print(f"studybot ask: the question is {problem}.", file=sys.stderr)
            return 2
    skipped = 0
    for number, (query, problem) in enumerate(_queries(args.query), 1):
        if problem:
            # Named on stderr; a JSON line still stands for it, so output lines match input lines.
            print(f"studybot ask: line {number} is {problem}; skipped", file=sys.stderr, flush=True)
            skipped += 1
            if args.json:
                print(json.dumps({"query": query, "answered": False, "matches": [], "error": "not valid UTF-8"},
                                 ensure_ascii=False), flush=True)
            continue
        if not query.strip():
            continue  # a blank line is not a question (and gets no output line)
        result = library.search(query, top=args.top, deck=args.deck)
        if args.json:
            print(json.dumps(_result_json(result), ensure_ascii=False), flush=True)
        else:
            _print_result(result, library, sys.stdout)
    return 1 if skipped else 0


def _queries(query: str) -> Iterator[tuple[str, str | None]]:
    """The question given, or with ``-`` each line of stdin read as UTF-8 (what is not, named)."""
    if query != "-":
        yield query, None
        return
    for raw in sys.stdin.buffer:
        text, problem = decode_line(raw)
        yield text.rstrip("\r\n"), problem


def _result_json(result: SearchResult) -> dict[str, object]:
    return {
        "query": result.query,
        "answered": result.answered,
        "matches": [{"id": m.entry.id, "deck": m.entry.deck, "question": m.entry.question, "score": m.score}
                    for m in result.matches],
    }


def _print_result(result: SearchResult, library: Library, out: TextIO) -> None:
    best = result.best
    if result.answered and best:
        entry = best.entry
        out.write(f"{entry.question}\n[{library.topic_name(entry)} · {entry.deck}/{entry.id}]\n\n")
        out.write(entry.answer.rstrip() + "\n")
        related = [r for r in (library.entry(f"{entry.deck}/{rid}") for rid in entry.related) if r]
        if related:
            out.write("\nRelated:\n" + "".join(f"  - {r.question} ({r.id})\n" for r in related))
        return
    out.write(f"No confident answer for {result.query!r}.\n")
    if result.matches:
        out.write("Did you mean:\n" + "".join(f"  {i}. {m.entry.question} ({m.entry.id})\n"
                                             for i, m in enumerate(result.matches, 1)))


def _kb_list(args: argparse.Namespace) -> int:
    library = _library(args)
    rows = [{"id": e.id, "deck": e.deck, "topic": e.topic, "question": e.question, "cards": len(e.quiz)}
            for deck in library.decks for e in deck.entries]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(f"{row['deck']}/{row['id']:<28} {row['topic']:<18} {row['cards']} cards  {row['question']}")
    print(f"{len(rows)} entries, {sum(int(str(r['cards'])) for r in rows)} quiz cards "
          f"in {len(library.decks)} deck(s)")
    return 0


def _kb_show(args: argparse.Namespace) -> int:
    library = _library(args)
    entry = library.entry(args.id)
    if entry is None:
        print(f"No entry with id {args.id!r}. `studybot kb list` shows every id.", file=sys.stderr)
        return 1
    print(f"{entry.question}\n[{library.topic_name(entry)} · {entry.deck}/{entry.id}]\n")
    print(entry.answer)
    details = {"Aliases": entry.aliases, "Keywords": entry.keywords, "Related": entry.related}
    for label, values in details.items():
        if values:
            print(f"\n{label}: {', '.join(values)}")
    for card in entry.quiz:
        print(f"\nQuiz {card.id}{f' ({card.difficulty})' if card.difficulty else ''}: {card.prompt}")
        for i, choice in enumerate(card.choices, 1):
            print(f"  {'*' if choice.correct else ' '} {i}. {choice.text}")
        print(f"  Why: {card.explanation}")
    return 0


def _kb_validate(args: argparse.Namespace) -> int:
    from bot.kb.folders import deck_folders, served_deck_folders
    from bot.kb.loader import load_decks

    if args.paths:
        folders = deck_folders(args.paths)
    else:
        config = load_config(args.config)
        folders = served_deck_folders(config.deck_paths, config.builtin_decks)
    decks = load_decks(folders)  # raises DeckError, reported by main()
    for deck in decks:
        print(f"ok  {deck.name}: {len(deck.entries)} entries, {len(deck.cards)} quiz cards")
    return 0


def _kb_score(args: argparse.Namespace) -> int:
    """Each deck alone on its own queries: what a team writing a deck measures its changes with."""
    from bot.kb.folders import QUERIES_FILE, deck_folders
    from bot.kb.loader import load_decks
    from bot.kb.scoring import checked_cases, evaluate, score_lines
    from bot.kb.search import SearchIndex

    folders = deck_folders(args.paths)
    status = 0
    for folder, deck in zip(folders, load_decks(folders)):  # a broken deck raises DeckError, reported by main()
        cases, problems = checked_cases(folder / QUERIES_FILE, {entry.id for entry in deck.entries})
        if problems:
            print("\n".join(problems), file=sys.stderr)
            status = 1
            continue
        score = evaluate(SearchIndex([deck]), cases, deck.name)
        print("\n".join(score_lines(score, f"{deck.name} ({len(deck.entries)} entries)")))
        if args.misses:
            print("\n".join("    " + miss for miss in score.misses))
    return status


def _kb_import(args: argparse.Namespace) -> int:
    from bot.kb.importing import ImportRefused, import_file

    try:
        report = import_file(args.file, deck_name=args.deck, out=args.out, force=args.force)
    except ImportRefused as exc:
        print(f"Cannot import: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0


def _kb_gaps(args: argparse.Namespace) -> int:
    import asyncio

    from bot.run import show_gaps

    config = load_config(args.config)
    rows = asyncio.run(show_gaps(config, config.data_dir(args.data_dir), args.limit))
    if not rows:
        print("No unanswered questions recorded yet.")
    for query, times, last in rows:
        print(f"{times:5}  {last}  {query}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot.core.app import TimerFailure
    from bot.kb.library import served_library
    from bot.logs import setup_logging
    from bot.run import run, run_event_loop

    config = load_config(args.config)
    # Before anything starts: a console running beside an adapter that failed would hide the failure.
    config.check_secrets()
    setup_logging(config.bot.log_level, config.bot.log_format, config.bot.library_debug)
    library = served_library(config)  # a broken deck: no start
    try:
        # SIGINT (Ctrl-C) and SIGTERM stop a running bot gracefully (exit 0); see bot.run.
        run_event_loop(run(config, config.data_dir(args.data_dir), library))
    except KeyboardInterrupt:  # Ctrl-C before the bot was running
        return 130
    except TimerFailure as exc:
        print(f"Stopped: {exc}", file=sys.stderr)
        return 1
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    import asyncio

    from bot.run import upgrade_database
    from bot.store.lock import DataFolderBusy

    config = load_config(args.config)
    try:
        where = asyncio.run(upgrade_database(config, config.data_dir(args.data_dir)))
    except DataFolderBusy as exc:  # "Not started" (main's wording for `run`) would read oddly here
        print(f"Not upgraded: StudyBot is running on the data folder {exc.folder} (pid {exc.pid}) and applied the "
              "migrations when it started; to upgrade, stop it first, then run `studybot db upgrade` again",
              file=sys.stderr)
        return 1
    print(f"Database {where} is up to date.")
    return 0


def _db_copy(args: argparse.Namespace) -> int:
    import asyncio

    from bot.database import open_location
    from bot.store.copy import copy_database

    config = load_config(args.config)

    async def copy() -> list[tuple[str, int, str]]:
        source = await open_location(args.source, config)
        try:
            destination = await open_location(args.destination, config)
            try:
                copied = await copy_database(source, destination, args.source, args.destination)
            finally:
                await destination.close()
        finally:
            await source.close()
        return [(c.table, c.rows, c.checksum) for c in copied]

    copied = asyncio.run(copy())
    for table, rows, digest in copied:
        print(f"{table:<16} {rows:>9} rows  sha256 {digest[:16]}  same in both")
    print(f"Copied {sum(r for _, r, _ in copied)} rows from {args.source} to {args.destination}; counts and "
          "checksums verified.")
    return 0


def _review_export(args: argparse.Namespace) -> int:
    import asyncio

    from bot.core.review_export import write_csv
    from bot.run import review_log

    config = load_config(args.config)
    workspace = args.workspace or ("local" if args.platform == "console" else None)
    if workspace is None:
        print(f"studybot review export: name the {args.platform} workspace with --workspace "
              "(a Discord server id or a Slack team id): review data is kept per workspace.", file=sys.stderr)
        return 2
    entries = asyncio.run(review_log(config, config.data_dir(args.data_dir), args.platform, workspace, args.user))
    if args.out is None:
        write_csv(entries, sys.stdout)
    else:
        with args.out.open("w", encoding="utf-8", newline="") as out:
            write_csv(entries, out)
        print(f"Wrote {len(entries)} review(s) of {args.user} to {args.out}.", file=sys.stderr)
    return 0


def _discord_sync(args: argparse.Namespace) -> int:
    import asyncio

    from bot.adapters.discord import sync_commands

    config = load_config(args.config)
    count = asyncio.run(sync_commands(config, args.guild))
    where = f"server {args.guild} (available now)" if args.guild else "all servers (may take up to an hour)"
    print(f"Registered {count} commands for {where}.")
    return 0
