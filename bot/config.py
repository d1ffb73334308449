"""Loads and validates the TOML config; config.example.toml documents every key.

Every section is a frozen dataclass whose fields are the keys and their defaults, so the
example file, the validation and the code that reads a setting cannot drift apart silently.
Secrets never live in the file: it names the environment variables that hold them.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from bot.log_privacy import LIBRARIES

log = logging.getLogger(__name__)
ADAPTERS = ("console", "discord", "slack")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_DAY = 86_400
_WEEK = 7 * _DAY
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What each secret-naming key's variable must hold, for the message when it is not set.
SECRET_KEYS = {
    "discord.token_env": "the Discord bot token",
    "slack.bot_token_env": "the Slack Bot User OAuth Token, xoxb-…",
    "slack.app_token_env": "the Slack app-level token for Socket Mode, xapp-…",
    "slack.signing_secret_env": "the Slack signing secret for HTTP mode",
    "store.password_env": "the PostgreSQL password",
}
STORE_SCHEMES = ("postgresql://", "postgres://")


class ConfigError(Exception):
    """A config problem, worded for the person editing the file (names the key)."""


@dataclass(frozen=True)
class BotSection:
    """[bot]: which adapters run and where data lives."""

    adapters: list[str] = field(default_factory=lambda: ["console"])
    data_dir: str = ""
    timezone: str = "UTC"
    log_level: str = "INFO"
    log_format: str = "text"
    # Libraries whose own DEBUG lines are kept (bot.log_privacy drops them by default): for troubleshooting one.
    library_debug: list[str] = field(default_factory=list)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    start_retry_seconds: float = 60.0
    # Whether `stats` answers only the person who asked (a product decision, so every platform shares it).
    private_stats: bool = True


@dataclass(frozen=True)
class DecksSection:
    """[decks]: where decks are read from."""

    builtin: bool = True
    paths: list[str] = field(default_factory=list)
    cache: bool = True  # built indexes kept in Config.cache_dir (bot.kb.index_cache)


@dataclass(frozen=True)
class QuizSection:
    """[quiz]: on-demand rounds."""

    round_seconds: int = 60
    min_seconds: int = 5
    max_seconds: int = 600
    max_questions: int = 10
    points_correct: int = 10  # kept for old config files: the points of a medium (or unrated) card
    # Points for a right answer by the card's difficulty; a card without one counts as medium.
    # Flat by default, so upgrading changes no one's points; config.example.toml shows a fairer table.
    points: dict[str, int] = field(default_factory=lambda: {"easy": 10, "medium": 10, "hard": 10})
    speed_bonus: int = 0  # extra points for an instant answer, falling linearly to none at the round's end
    hints: bool = True  # games offer hints unless started with `nohints`
    hint_cost: int = 25  # percent of a typed question's points each hint takes (letters, then words)

    def points_for(self, difficulty: str | None) -> int:
        """The points a right answer to a card of ``difficulty`` is worth (before speed and hints)."""
        if difficulty in ("easy", "hard") and difficulty in self.points:
            return self.points[difficulty]
        return self.points.get("medium", self.points_correct)


@dataclass(frozen=True)
class CooldownSection:
    """[cooldowns]: per-user limits so one person cannot flood a channel."""

    ask_seconds: float = 3.0
    quiz_seconds: float = 20.0


@dataclass(frozen=True)
class DailySection:
    """[daily]: the scheduled daily challenge."""

    grace_minutes: int = 120
    open_hours: float = 12.0
    check_seconds: int = 30


@dataclass(frozen=True)
class ReviewSection:
    """[review]: spaced repetition (the fsrs package's scheduler parameters, and daily limits per person)."""

    # Empty: the fsrs package's own defaults, whatever its version (read where a scheduler is made,
    # so a command that never schedules never imports fsrs).
    parameters: list[float] = field(default_factory=list)
    desired_retention: float = 0.9
    learning_steps_minutes: list[float] = field(default_factory=lambda: [1.0, 10.0])
    relearning_steps_minutes: list[float] = field(default_factory=lambda: [10.0])
    maximum_interval_days: int = 36500
    enable_fuzzing: bool = True
    new_per_day: int = 20
    reviews_per_day: int = 200
    new_offer: int = 5
    reminder_grace_minutes: int = 120


@dataclass(frozen=True)
class DeliverySection:
    """[delivery]: retrying the messages the bot posts on its own (questions, reveals, daily posts)."""

    first_retry_seconds: float = 2.0
    max_retry_seconds: float = 300.0
    unknown_error_attempts: int = 5
    give_up_hours: float = 24.0
    lease_seconds: float = 30.0  # each attempt gets a third of it (bot/core/delivery.py)


@dataclass(frozen=True)
class DiscordSection:
    """[discord]: the Discord adapter."""

    token_env: str = "STUDYBOT_DISCORD_TOKEN"
    sharded: bool = False
    shard_count: int = 0
    shard_ids: list[int] = field(default_factory=list)  # this process's shards, of shard_count (several processes)


@dataclass(frozen=True)
class SlackSection:
    """[slack]: the Slack adapter."""

    mode: str = "socket"
    command: str = "/study"
    bot_token_env: str = "STUDYBOT_SLACK_BOT_TOKEN"
    app_token_env: str = "STUDYBOT_SLACK_APP_TOKEN"
    signing_secret_env: str = "STUDYBOT_SLACK_SIGNING_SECRET"
    api_base_url: str = "https://slack.com/api/"
    http_host: str = "0.0.0.0"
    http_port: int = 3000
    admin_user_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoreSection:
    """[store]: where state lives. No url: one SQLite file in the data folder (one process).
    A ``postgresql://user@host:port/database`` url: a PostgreSQL database any number of processes share."""

    url: str = ""
    password_env: str = ""
    pool_size: int = 10
    statement_timeout_seconds: float = 10.0

    @property
    def postgres(self) -> bool:
        """Whether the state lives in PostgreSQL."""
        return bool(self.url)


@dataclass(frozen=True)
class ConsoleSection:
    """[console]: the terminal adapter."""

    # Who may run admin commands (daily) at the console; empty means the first user, who owns the terminal.
    admins: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``Config()`` is the embedded default (console, built-in decks)."""

    bot: BotSection = field(default_factory=BotSection)
    decks: DecksSection = field(default_factory=DecksSection)
    quiz: QuizSection = field(default_factory=QuizSection)
    cooldowns: CooldownSection = field(default_factory=CooldownSection)
    daily: DailySection = field(default_factory=DailySection)
    delivery: DeliverySection = field(default_factory=DeliverySection)
    review: ReviewSection = field(default_factory=ReviewSection)
    discord: DiscordSection = field(default_factory=DiscordSection)
    slack: SlackSection = field(default_factory=SlackSection)
    store: StoreSection = field(default_factory=StoreSection)
    console: ConsoleSection = field(default_factory=ConsoleSection)
    base_dir: Path = Path(".")

    @property
    def deck_paths(self) -> list[Path]:
        """Configured deck folders, relative paths taken from the config file's folder."""
        return [self.base_dir / p for p in self.decks.paths]

    @property
    def builtin_decks(self) -> bool:
        """Whether the shipped decks are loaded too."""
        return self.decks.builtin

    def data_dir(self, override: Path | None = None) -> Path:
        """Where the SQLite file lives: --data-dir, then [bot] data_dir, then the user data folder."""
        if override is not None:
            return override
        if self.bot.data_dir:
            return self.base_dir / self.bot.data_dir
        return _user_folder("XDG_DATA_HOME", ".local", "share")

    def cache_dir(self) -> Path | None:
        """Where built deck indexes are kept ([decks] cache): the user cache folder; None when off or
        when there is no home folder to find it in (a container user without one)."""
        if not self.decks.cache:
            return None
        try:
            return _user_folder("XDG_CACHE_HOME", ".cache")
        except RuntimeError:
            log.warning("deck indexes are not kept: there is no home folder; set XDG_CACHE_HOME to a folder "
                        "for them, or [decks] cache = false")
            return None

    def required_secrets(self) -> list[tuple[str, str]]:
        """(config key, environment variable) for every secret the enabled adapters need."""
        needed = []
        if self.store.url and self.store.password_env:
            needed.append(("store.password_env", self.store.password_env))
        if "discord" in self.bot.adapters:
            needed.append(("discord.token_env", self.discord.token_env))
        if "slack" in self.bot.adapters:
            needed.append(("slack.bot_token_env", self.slack.bot_token_env))
            if self.slack.mode == "socket":
                needed.append(("slack.app_token_env", self.slack.app_token_env))
            else:
                needed.append(("slack.signing_secret_env", self.slack.signing_secret_env))
        return needed

    def check_secrets(self) -> None:
        """Refuses to start while an enabled adapter's secret is missing from the environment.

        Raises:
            ConfigError: naming every variable that is not set, with the key that names it.
        """
        missing = []
        for key, env in self.required_secrets():
            try:
                self.secret(env, key)
            except ConfigError as exc:
                missing.append(str(exc))
        if missing:
            raise ConfigError("; ".join(missing))

    def secret(self, env_name: str, key: str) -> str:
        """The secret held in the environment variable ``env_name`` named by config ``key``."""
        value = os.environ.get(env_name, "").strip()
        if not value:
            raise ConfigError(f"{key}: the environment variable {env_name} is not set (it must hold "
                              f"{SECRET_KEYS.get(key, 'the secret')}; the config only names the variable)")
        return value


def _user_folder(variable: str, *under_home: str) -> Path:
    """``$variable``/studybot, else the XDG default under the home folder (RuntimeError without one)."""
    return Path(os.environ.get(variable) or Path.home().joinpath(*under_home)) / "studybot"


def load_config(path: Path | None) -> Config:
    """Reads and validates ``path``; with no path, the embedded default.

    Raises:
        ConfigError: naming the first key that is wrong and what was expected.
    """
    if path is None:
        return Config()
    import tomllib  # here, not above: a one-shot `studybot ask` without a file never parses TOML

    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
                          "save it as UTF-8 (TOML files must be)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    problems: list[str] = []
    _move_deprecated(raw, problems)
    sections: dict[str, Any] = {}
    hints = get_type_hints(Config)
    for name, value in raw.items():
        section_type = hints.get(name)
        if name == "base_dir" or section_type is None:
            problems.append(f"[{name}]: unknown section (known: {', '.join(_section_names())})")
        elif not isinstance(value, dict):
            problems.append(f"{name}: expected a [{name}] table")
        else:
            sections[name] = _section(section_type, name, value, problems)
    config = Config(**sections, base_dir=Path(path).resolve().parent)
    problems.extend(_check_values(config))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    # logging takes only upper-case level names; "debug" in the file means DEBUG.
    return replace(config, bot=replace(config.bot, log_level=config.bot.log_level.upper()))


def _move_deprecated(raw: dict[str, Any], problems: list[str]) -> None:
    """Keys that moved to another section still work, with a warning naming the new place."""
    discord = raw.get("discord")
    if not isinstance(discord, dict) or "private_stats" not in discord:
        return
    old = discord.pop("private_stats")
    if not isinstance(old, bool):
        problems.append(f"discord.private_stats: expected true or false, got {old!r}")
        return
    log.warning("discord.private_stats is deprecated: stats privacy now applies on every platform; write "
                "private_stats = %s under [bot] instead", "true" if old else "false")
    bot = raw.setdefault("bot", {})
    if isinstance(bot, dict):
        bot.setdefault("private_stats", old)


def _section_names() -> list[str]:
    return [f.name for f in fields(Config) if f.name != "base_dir"]


def _section(section_type: type, name: str, values: dict[str, Any], problems: list[str]) -> Any:
    hints = get_type_hints(section_type)
    accepted: dict[str, Any] = {}
    for key, value in values.items():
        if key not in hints:
            problems.append(f"{name}.{key}: unknown key (known: {', '.join(hints)})")
            continue
        expected = hints[key]
        if not _has_type(value, expected):
            problems.append(f"{name}.{key}: expected {_describe(expected)}, got {value!r}")
            continue
        if expected is float and not math.isfinite(value):
            problems.append(f"{name}.{key}: expected a finite number, got {value!r}")
            continue
        accepted[key] = float(value) if expected is float else (
            [float(v) for v in value] if expected == list[float] else value)
    return section_type(**accepted)


def _has_type(value: Any, expected: Any) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if expected == dict[str, int]:
        return isinstance(value, dict) and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values())
    if expected == list[float]:
        return isinstance(value, list) and all(_has_type(v, float) and math.isfinite(v) for v in value)
    if expected == list[int]:
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _describe(expected: Any) -> str:
    if expected == dict[str, int]:
        return "a table of whole numbers, e.g. { easy = 5, medium = 10, hard = 15 }"
    if expected == list[float]:
        return "a list of numbers"
    if expected == list[int]:
        return "a list of whole numbers"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(
        expected, "a list of strings")


def _check_values(config: Config) -> list[str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # here: only a config file's zone is checked

    problems = [f"bot.adapters: unknown adapter {a!r} (choose from {', '.join(ADAPTERS)})"
                for a in config.bot.adapters if a not in ADAPTERS]
    if not config.bot.adapters:
        problems.append("bot.adapters: name at least one adapter, e.g. [\"console\"]")
    if len(set(config.bot.adapters)) < len(config.bot.adapters):
        problems.append("bot.adapters: name each adapter once")
    problems.extend(f"quiz.points: unknown difficulty {name!r} (use easy, medium and hard, e.g. "
                    "points = { easy = 5, medium = 10, hard = 15 })"
                    for name in config.quiz.points if name not in ("easy", "medium", "hard"))
    try:
        ZoneInfo(config.bot.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "America"
        problems.append(f"bot.timezone: {config.bot.timezone!r} is not an IANA time zone "
                        f"(e.g. \"UTC\", \"Europe/Berlin\", \"America/New_York\")")
    if config.bot.log_level.upper() not in LOG_LEVELS:
        problems.append(f"bot.log_level: expected one of {', '.join(LOG_LEVELS)}, got {config.bot.log_level!r}")
    quiz = config.quiz
    if quiz.max_seconds < quiz.min_seconds:
        problems.append(f"quiz.max_seconds: must be at least quiz.min_seconds ({quiz.min_seconds}), "
                        f"got {quiz.max_seconds}")
    elif not quiz.min_seconds <= quiz.round_seconds <= quiz.max_seconds:
        problems.append(f"quiz.round_seconds: must lie between quiz.min_seconds ({quiz.min_seconds}) and "
                        f"quiz.max_seconds ({quiz.max_seconds}), got {quiz.round_seconds}")
    for key, value, low, high, unit in _ranges(config):
        if value < low:
            problems.append(f"{key}: must be {low:g} or more, got {_number(value)}")
        elif value > high:
            problems.append(f"{key}: must be at most {high:g}{unit}, got {_number(value)}")
    if config.daily.open_hours <= 0:
        problems.append(f"daily.open_hours: must be more than 0, got {config.daily.open_hours:g}")
    delivery = config.delivery
    if delivery.max_retry_seconds < delivery.first_retry_seconds:
        problems.append(f"delivery.max_retry_seconds: must be at least delivery.first_retry_seconds "
                        f"({delivery.first_retry_seconds:g}), got {delivery.max_retry_seconds:g}")
    problems.extend(f"bot.library_debug: unknown library {name!r} (choose from {', '.join(sorted(LIBRARIES))})"
                    for name in config.bot.library_debug if name not in LIBRARIES)
    if config.bot.log_format not in LOG_FORMATS:
        problems.append(f"bot.log_format: expected \"text\" or \"json\", got {config.bot.log_format!r}")
    for key in SECRET_KEYS:
        section, name = key.split(".")
        if key == "store.password_env" and not config.store.password_env:
            continue  # optional: a server that trusts the connection needs no password
        if not _ENV_NAME.fullmatch(getattr(getattr(config, section), name)):
            # The value is not echoed: a person who got this wrong may have pasted the secret itself.
            problems.append(f"{key}: must be the name of an environment variable (letters, digits and _, "
                            f"e.g. \"STUDYBOT_...\"), not the secret itself")
    problems += _review_problems(config.review)
    problems.extend(_check_store(config.store))
    problems.extend(_check_shards(config.discord))
    if config.slack.mode not in ("socket", "http"):
        problems.append(f"slack.mode: expected \"socket\" or \"http\", got {config.slack.mode!r}")
    if not config.slack.command.startswith("/"):
        problems.append(f"slack.command: must start with '/', e.g. \"/study\", got {config.slack.command!r}")
    if not config.slack.api_base_url.startswith(("https://", "http://")):
        problems.append(f"slack.api_base_url: expected an http(s) URL, got {config.slack.api_base_url!r}")
    if not 0 < config.slack.http_port < 65536:
        problems.append(f"slack.http_port: expected a port between 1 and 65535, got {config.slack.http_port}")
    return problems


def _review_problems(review: ReviewSection) -> list[str]:
    """[review]'s scheduler settings, checked by the fsrs package itself (its parameter bounds)."""
    problems = []
    if not 0 < review.desired_retention < 1:
        problems.append("review.desired_retention: must lie between 0 and 1 (e.g. 0.9), "
                        f"got {review.desired_retention:g}")
    for key in ("learning_steps_minutes", "relearning_steps_minutes"):
        steps = getattr(review, key)
        if any(not 0 < m <= _DAY // 60 for m in steps):
            problems.append(f"review.{key}: each step must be more than 0 and at most 1440 minutes (a day), "
                            f"got {steps}")
    if review.parameters:  # checked by the package itself, which is imported only then
        from fsrs import Scheduler

        try:
            Scheduler(parameters=review.parameters)
        except ValueError as exc:
            problems.append(f"review.parameters: {' '.join(str(exc).split())} "
                            "(remove the key for the fsrs defaults)")
    return problems
def _check_store(store: StoreSection) -> list[str]:
    if not store.url:
        return []
    if not store.url.startswith(STORE_SCHEMES):
        return [f"store.url: expected a PostgreSQL URL such as \"postgresql://studybot@127.0.0.1:5432/studybot\" "
                f"(leave it out for SQLite in the data folder), got {store.url.split('@')[-1]!r}"]
    authority = store.url.split("://", 1)[1].split("/", 1)[0]
    if ":" in authority.rpartition("@")[0]:
        # Not echoed: it holds a password. Secrets never live in the file.
        return ["store.url: holds a password; remove it from the URL and name the environment variable that holds "
                "it in store.password_env"]
    return []


def _check_shards(discord: DiscordSection) -> list[str]:
    if not discord.shard_ids:
        return []
    if discord.shard_count < 1:
        return ["discord.shard_ids: needs discord.shard_count, the number of shards over all processes"]
    wrong = [i for i in discord.shard_ids if not 0 <= i < discord.shard_count]
    if wrong:
        return [f"discord.shard_ids: shard ids run from 0 to {discord.shard_count - 1} (discord.shard_count = "
                f"{discord.shard_count}), got {wrong}"]
    if len(set(discord.shard_ids)) < len(discord.shard_ids):
        return ["discord.shard_ids: name each shard once"]
    return []


def _number(value: float) -> str:
    """A whole number as written; others short (``-0.5``, ``1e+300``)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _ranges(config: Config) -> list[tuple[str, float, float, float, str]]:
    """(key, value, lowest, highest, unit) of every bounded number.

    Durations have upper bounds as well as lower ones: a huge value (``9e18``) is a typo, and
    would overflow date arithmetic hours into the run instead of stopping the bot at start.
    """
    quiz, cooldowns, daily, delivery = config.quiz, config.cooldowns, config.daily, config.delivery
    return [
        ("quiz.round_seconds", quiz.round_seconds, 1, _WEEK, " (a week)"),
        ("quiz.min_seconds", quiz.min_seconds, 1, _WEEK, " (a week)"),
        ("quiz.max_seconds", quiz.max_seconds, 1, _WEEK, " (a week)"),
        ("quiz.max_questions", quiz.max_questions, 1, 100, ""),
        ("quiz.points_correct", quiz.points_correct, 0, 1_000_000, ""),
        ("quiz.speed_bonus", quiz.speed_bonus, 0, 1_000_000, ""),
        ("quiz.hint_cost", quiz.hint_cost, 0, 100, " (percent)"),
        *((f"quiz.points.{name}", value, 0, 1_000_000, "") for name, value in quiz.points.items()),
        ("cooldowns.ask_seconds", cooldowns.ask_seconds, 0, _DAY, " (a day)"),
        ("cooldowns.quiz_seconds", cooldowns.quiz_seconds, 0, _DAY, " (a day)"),
        ("daily.grace_minutes", daily.grace_minutes, 0, _WEEK // 60, " (a week)"),
        ("daily.open_hours", daily.open_hours, 0, _WEEK // 3600, " (a week)"),
        ("daily.check_seconds", daily.check_seconds, 1, 3600, " (an hour)"),
        ("discord.shard_count", config.discord.shard_count, 0, 100_000, ""),
        ("bot.metrics_port", config.bot.metrics_port, 0, 65_535, " (0 turns it off)"),
        ("bot.start_retry_seconds", config.bot.start_retry_seconds, 0, 3600, " (an hour)"),
        # Small enough that a typo cannot park a reveal for years.
        ("delivery.first_retry_seconds", delivery.first_retry_seconds, 0.1, 60, " (a minute)"),
        ("delivery.max_retry_seconds", delivery.max_retry_seconds, 1, 3600, " (an hour)"),
        ("delivery.unknown_error_attempts", delivery.unknown_error_attempts, 1, 100, ""),
        ("delivery.give_up_hours", delivery.give_up_hours, 0.1, _WEEK // 3600, " (a week)"),
        # An attempt gets a third of the lease: 2 s at least, enough for any platform's normal answer. At
        # most 10 minutes, the longest a dead process's post should wait to be taken over.
        ("delivery.lease_seconds", delivery.lease_seconds, 6, 600, " (10 minutes)"),
        ("review.maximum_interval_days", config.review.maximum_interval_days, 1, 36500, " (100 years)"),
        ("review.new_per_day", config.review.new_per_day, 0, 10_000, ""),
        ("review.reviews_per_day", config.review.reviews_per_day, 1, 100_000, ""),
        ("review.new_offer", config.review.new_offer, 1, 50, ""),
        ("review.reminder_grace_minutes", config.review.reminder_grace_minutes, 0, _WEEK // 60, " (a week)"),
        ("store.pool_size", config.store.pool_size, 1, 1000, ""),
        ("store.statement_timeout_seconds", config.store.statement_timeout_seconds, 0.1, 3600, " (an hour)"),
    ]
