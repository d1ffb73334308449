"""Every command, declared once; the handlers live beside this file, one module per concern.

Adding a command means one :class:`Command` here and one handler function in a module of this
package: text parsing, help, Slack's usage hint, option checks, suggestions and Discord's
command tree all come from the declaration.
"""

from __future__ import annotations

from bot.config import Config
from bot.core.catalog import Catalog, Choice, Command, Kind, Option, Pace
from bot.core.commands import boards, decks, info, lookup, quizzes, reviews, schedules
from bot.core.standings import PERIODS


def _questions(config: Config) -> tuple[int, int]:
    return 1, config.quiz.max_questions


def _seconds(config: Config) -> tuple[int, int]:
    return config.quiz.min_seconds, config.quiz.max_seconds


TARGET = (1, 10_000)  # `quiz to N`: a target score
DAILY_QUESTIONS = (1, 5)  # a daily challenge is a short daily habit, whatever quizzes allow

MODE = Option("mode", "typed: answer by typing (cards with short answers only); buttons: pick a choice",
              Kind.CHOICE, positional=False, example="typed", guess=False,
              choices=(Choice("typed", "Typed answers", ("type", "typing")), Choice("buttons", "Choice buttons",
                                                                                  ("choices",))))

TOPIC = Option("topic", "Only questions on this topic or deck", Kind.TOPIC, keyed=True, suggest="topics",
               example="keras")

CATALOG = Catalog((
    Command("ask", "Look up a concept in the decks", "ask what is eager execution", lookup.ask,
            options=(Option("query", "Your question, e.g. what is eager execution", required=True,
                            max_length=lookup.MAX_QUERY, check=lookup.check_question, suggest="questions"),),
            aliases=("q",), cooldown=lambda c: c.cooldowns.ask_seconds, private=False, pace=Pace.USUALLY_QUICK),
    Command("quiz", "Start a quiz game in this channel; `quiz stop` ends it, `quiz skip` moves on",
            "quiz keras questions 3", quizzes.quiz,
            options=(TOPIC,
                     Option("questions", "How many questions in a row", Kind.NUMBER, positional=False, keyed=True,
                            bounds=_questions, default=lambda c: 1),
                     Option("seconds", "Seconds to answer each question", Kind.NUMBER, positional=False,
                            keyed=True, bounds=_seconds, default=lambda c: c.quiz.round_seconds),
                     Option("to", "First to this many points wins (the game ends there)", Kind.NUMBER,
                            positional=False, keyed=True, bounds=lambda c: TARGET, default=lambda c: 0, example="30"),
                     MODE,
                     Option("hints", "nohints: no Hint or 50/50 buttons in this game", Kind.CHOICE, positional=False,
                            example="nohints", guess=False,
                            choices=(Choice("hints", "Hints on"), Choice("nohints", "No hints", ("no-hints",)))),
                     Option("control", "stop: end this channel's quiz; skip: reveal the question, move on "
                            "(starter or admin)", Kind.CHOICE, positional=False, example="stop",
                            guess=False, uncooled=True,
                            choices=(Choice("stop", "Stop the quiz", ("end",)), Choice("skip", "Skip the question",
                                                                                    ("next",))))),
            aliases=("practice",), cooldown=lambda c: c.cooldowns.quiz_seconds, posts=True,
            more_examples=(("quiz to 30", "first to 30 points wins; the results name the winner"),
                           ("quiz typed", "answer by typing (Answer opens a text field; small typos are fine)"),
                           ("quiz nohints", "no Hint (typed: letters, then words) or 50/50 buttons"),
                           ("quiz skip", "reveal this question now and move on (starter or admin)"),
                           ("quiz stop", "end the game now: the answer, then the standings (starter or admin)"))),
    Command("leaderboard", "Top 10 for today, week, month or all time, optionally for one topic",
            "leaderboard week", boards.leaderboard,
            options=(Option("period", "Which days count (default: this week)", Kind.CHOICE, positional=False,
                            example="week", choices=tuple(Choice(v, n, words) for v, (n, words) in PERIODS.items())),
                     Option("topic", "Only points from this topic or deck", Kind.TOPIC, suggest="topics",
                            example="keras")),
            aliases=("top", "lb"), private=False),
    Command("stats", "Answers, accuracy, streaks and weakest topics (yours, or someone's)", "stats",
            boards.stats, options=(Option("user", "Whose stats (default: yours)", Kind.USER),),
            private=lambda c: c.bot.private_stats),
    Command("topics", "Decks and topics with their entry and card counts", "topics", info.topics,
            pace=Pace.INSTANT),
    Command("daily", "Admins: schedule a daily challenge here (set HH:MM ZONE, show, off)",
            "daily set 09:00 Europe/Berlin questions 2", admin=True, default_subcommand="show", subcommands=(
                Command("set", "Post a daily challenge here every day at a local time",
                        "daily set 09:00 Europe/Berlin questions 2", schedules.set_daily, admin=True, posts=True,
                        options=(Option("time", "Local time, 24-hour HH:MM, e.g. 09:00", required=True,
                                        max_length=16),
                                 Option("timezone", "Time zone, e.g. Europe/Berlin", required=True, max_length=64,
                                        suggest="timezones"),
                                 Option("questions", "Questions per day", Kind.NUMBER, positional=False, keyed=True,
                                        bounds=lambda c: DAILY_QUESTIONS, default=lambda c: 1),
                                 TOPIC, MODE)),
                Command("show", "Show this channel's daily challenge", "daily show", schedules.show, admin=True),
                Command("off", "Stop this channel's daily challenge", "daily off", schedules.off, admin=True))),
    Command("review", "Your private spaced-repetition review of due cards (flashcards, add TOPIC, remind HH:MM "
            "ZONE)",
            "review", default_subcommand="start", subcommands=(
                Command("start", "Review your due cards, one at a time, just for you", "review start",
                        reviews.start),
                Command("flashcards", "The same review as flashcards: question, Show answer, then rate yourself",
                        "review flashcards", reviews.flashcards),
                Command("add", "Add a topic's, deck's or entry's cards to your reviews", "review add keras",
                        reviews.add, options=(Option("what", "A topic, deck or entry, e.g. keras", required=True,
                                                     max_length=200, suggest="topics", example="keras"),)),
                Command("remind", "A private nudge at a local time when cards are due (or: off)",
                        "review remind 08:30 Europe/Berlin", reviews.remind,
                        options=(Option("time", "Local time, 24-hour HH:MM, or off", max_length=16),
                                 Option("timezone", "Time zone, e.g. Europe/Berlin", max_length=64,
                                        suggest="timezones"))))),
    Command("deck", "The decks in service; admins reload them from their files without a restart", "deck reload",
            decks.overview, admin=True, more_examples=(("deck", "the decks in service, with their counts"),),
            subcommands=(
                Command("reload", "Read the deck files again; when they are broken the old decks stay, with the "
                        "problems listed", "deck reload", decks.reload, admin=True),)),
    Command("about", "Version, decks and uptime", "about", info.about, pace=Pace.INSTANT),
    Command("help", "This list", "help", info.help_text, pace=Pace.INSTANT),
), fallback="ask")
