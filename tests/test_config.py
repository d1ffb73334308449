"""Config loading: the example file is the defaults, and every mistake is named for the person editing."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"
SECTIONS = [f.name for f in fields(Config) if f.name != "base_dir"]
SECRET_VARS = ("STUDYBOT_DISCORD_TOKEN", "STUDYBOT_SLACK_BOT_TOKEN", "STUDYBOT_SLACK_APP_TOKEN",
               "STUDYBOT_SLACK_SIGNING_SECRET")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problem(tmp_path: Path, text: str) -> str:
    """The message load_config gives for a config file holding ``text``."""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


@pytest.fixture
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)


# The example file


def test_example_file_loads_to_exactly_the_defaults() -> None:
    config = load_config(EXAMPLE)
    assert replace(config, base_dir=Path(".")) == Config()
    assert config.bot.adapters == ["console"]  # copying it unchanged starts the console only
    assert config.required_secrets() == []


def test_example_file_shows_every_key_of_every_section() -> None:
    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert list(raw) == SECTIONS
    for section in SECTIONS:
        section_type = type(getattr(Config(), section))
        assert list(raw[section]) == [f.name for f in fields(section_type)], section


def test_example_file_explains_every_key_in_a_comment_above_it() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    raw = tomllib.loads("\n".join(lines))
    for section in SECTIONS:
        for key in raw[section]:
            index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
            assert lines[index - 1].startswith("# "), f"{section}.{key} has no comment above it"


def test_example_file_names_environment_variables_and_holds_no_secret() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in SECRET_VARS:
        assert name in text
    for secret_prefix in ('"xoxb-', '"xapp-', '"xoxp-'):
        assert secret_prefix not in text


# Mistakes, each named by its key


def test_no_file_means_the_embedded_default() -> None:
    assert load_config(None) == Config()


def test_unknown_key_is_named_with_the_keys_that_exist(tmp_path: Path) -> None:
    message = problem(tmp_path, "[quiz]\nsecnds = 30\n")
    assert "quiz.secnds: unknown key" in message
    assert "round_seconds" in message and "max_questions" in message


def test_unknown_section_is_named_with_the_sections_that_exist(tmp_path: Path) -> None:
    message = problem(tmp_path, "[quizz]\nround_seconds = 30\n")
    assert "[quizz]: unknown section" in message
    assert "quiz" in message and "cooldowns" in message


@pytest.mark.parametrize(("text", "expected"), [
    ('[quiz]\nround_seconds = "sixty"\n', "quiz.round_seconds: expected a whole number, got 'sixty'"),
    ("[quiz]\nround_seconds = 30.5\n", "quiz.round_seconds: expected a whole number, got 30.5"),
    ("[quiz]\nround_seconds = true\n", "quiz.round_seconds: expected a whole number, got True"),
    ('[bot]\nadapters = "console"\n', "bot.adapters: expected a list of strings, got 'console'"),
    ('[discord]\nsharded = "yes"\n', "discord.sharded: expected true or false, got 'yes'"),
    ("[bot]\ntimezone = 1\n", "bot.timezone: expected a string, got 1"),
    ('[cooldowns]\nask_seconds = "3"\n', "cooldowns.ask_seconds: expected a number, got '3'"),
    ("quiz = 5\n", "quiz: expected a [quiz] table"),
])
def test_wrong_type_names_the_key_and_the_type_expected(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problem(tmp_path, text)


def test_whole_numbers_are_accepted_where_decimals_are_allowed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[cooldowns]\nask_seconds = 0\n[daily]\nopen_hours = 2\n"))
    assert config.cooldowns.ask_seconds == 0.0 and isinstance(config.cooldowns.ask_seconds, float)
    assert config.daily.open_hours == 2.0


@pytest.mark.parametrize(("text", "expected"), [
    ("[quiz]\nround_seconds = 900\n",
     "quiz.round_seconds: must lie between quiz.min_seconds (5) and quiz.max_seconds (600), got 900"),
    ("[quiz]\nround_seconds = 2\n", "quiz.round_seconds: must lie between"),
    ("[quiz]\nmin_seconds = 0\n", "quiz.min_seconds: must be 1 or more, got 0"),
    ("[quiz]\nmin_seconds = 30\nmax_seconds = 20\nround_seconds = 25\n",
     "quiz.max_seconds: must be at least quiz.min_seconds (30), got 20"),
    ("[quiz]\nmax_questions = 0\n", "quiz.max_questions: must be 1 or more, got 0"),
    ("[quiz]\npoints_correct = -5\n", "quiz.points_correct: must be 0 or more, got -5"),
    ("[cooldowns]\nask_seconds = -1\n", "cooldowns.ask_seconds: must be 0 or more, got -1"),
    ("[cooldowns]\nquiz_seconds = -0.5\n", "cooldowns.quiz_seconds: must be 0 or more, got -0.5"),
    ("[daily]\ngrace_minutes = -1\n", "daily.grace_minutes: must be 0 or more, got -1"),
    ("[daily]\nopen_hours = 0\n", "daily.open_hours: must be more than 0, got 0"),
    ("[daily]\ncheck_seconds = 0\n", "daily.check_seconds: must be 1 or more, got 0"),
    ("[discord]\nshard_count = -1\n", "discord.shard_count: must be 0 or more, got -1"),
    ("[slack]\nhttp_port = 70000\n", "slack.http_port: expected a port between 1 and 65535, got 70000"),
    ('[slack]\nmode = "websocket"\n', "slack.mode: expected \"socket\" or \"http\", got 'websocket'"),
    ('[slack]\ncommand = "study"\n', "slack.command: must start with '/'"),
    ('[slack]\napi_base_url = "slack.com/api"\n', "slack.api_base_url: expected an http(s) URL"),
    ('[bot]\nadapters = ["console", "teams"]\n',
     "bot.adapters: unknown adapter 'teams' (choose from console, discord, slack)"),
    ("[bot]\nadapters = []\n", "bot.adapters: name at least one adapter"),
    ('[bot]\nadapters = ["slack", "slack"]\n', "bot.adapters: name each adapter once"),
    ('[bot]\nlog_level = "verbose"\n',
     "bot.log_level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'verbose'"),
    ('[bot]\nlibrary_debug = ["discrod"]\n',
     "bot.library_debug: unknown library 'discrod' (choose from aiohttp, aiosqlite, discord, slack_bolt, "
     "slack_sdk, websockets)"),
])
def test_value_out_of_range_names_the_key_and_what_is_allowed(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problem(tmp_path, text)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "America", "", "utc", "../etc/passwd"])
def test_bad_timezone_is_named_with_examples_of_good_ones(tmp_path: Path, zone: str) -> None:
    message = problem(tmp_path, f'[bot]\ntimezone = "{zone}"\n')
    assert f"bot.timezone: {zone!r} is not an IANA time zone" in message
    assert "Europe/Berlin" in message


def test_library_debug_names_libraries_whose_debug_lines_are_kept(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[bot]\nlog_level = "DEBUG"\nlibrary_debug = ["discord", "aiohttp"]\n'))
    assert config.bot.library_debug == ["discord", "aiohttp"]


def test_log_level_may_be_written_in_any_case(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, '[bot]\nlog_level = "debug"\n')).bot.log_level == "DEBUG"


def test_every_problem_is_reported_at_once_after_the_file_name(tmp_path: Path) -> None:
    message = problem(tmp_path, "[quiz]\nsecnds = 1\nmax_questions = 0\n[slack]\nhttp_port = 0\n")
    assert message.startswith(f"{tmp_path / 'config.toml'}: ")
    for key in ("quiz.secnds", "quiz.max_questions", "slack.http_port"):
        assert key in message


def test_syntax_error_names_the_file_and_the_line(tmp_path: Path) -> None:
    message = problem(tmp_path, '[quiz]\nround_seconds = 30\nmax_seconds 60\n')
    assert str(tmp_path / "config.toml") in message
    assert "is not valid TOML" in message
    assert "line 3" in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read .*nope.toml"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_are_taken_from_the_config_files_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[bot]\ndata_dir = "data"\n[decks]\npaths = ["decks/mine"]\n'))
    assert config.data_dir() == tmp_path / "data"
    assert config.data_dir(Path("/elsewhere")) == Path("/elsewhere")  # --data-dir wins
    assert config.deck_paths == [tmp_path / "decks" / "mine"]


# Secrets


def test_a_secret_pasted_where_its_variable_name_belongs_is_refused_without_echoing_it(tmp_path: Path) -> None:
    message = problem(tmp_path, '[slack]\nbot_token_env = "xoxb-1234-abcd"\n')
    assert "slack.bot_token_env: must be the name of an environment variable" in message
    assert "xoxb-1234-abcd" not in message


def test_enabled_discord_without_its_token_names_the_variable(tmp_path: Path, no_secrets: None) -> None:
    config = load_config(write(tmp_path, '[bot]\nadapters = ["console", "discord"]\n'))
    with pytest.raises(ConfigError) as caught:
        config.check_secrets()
    assert str(caught.value).startswith("discord.token_env: the environment variable STUDYBOT_DISCORD_TOKEN "
                                        "is not set")


def test_the_variable_named_in_the_config_is_the_one_asked_for(tmp_path: Path, no_secrets: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, '[bot]\nadapters = ["discord"]\n[discord]\ntoken_env = "MY_BOT_TOKEN"\n'))
    monkeypatch.delenv("MY_BOT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="MY_BOT_TOKEN is not set"):
        config.check_secrets()
    monkeypatch.setenv("MY_BOT_TOKEN", "a-token")
    config.check_secrets()
    assert config.secret("MY_BOT_TOKEN", "discord.token_env") == "a-token"


@pytest.mark.parametrize(("mode", "needed", "not_needed"), [
    ("socket", ["STUDYBOT_SLACK_BOT_TOKEN", "STUDYBOT_SLACK_APP_TOKEN"], "STUDYBOT_SLACK_SIGNING_SECRET"),
    ("http", ["STUDYBOT_SLACK_BOT_TOKEN", "STUDYBOT_SLACK_SIGNING_SECRET"], "STUDYBOT_SLACK_APP_TOKEN"),
])
def test_enabled_slack_names_every_missing_variable_for_its_mode(tmp_path: Path, no_secrets: None, mode: str,
                                                                 needed: list[str], not_needed: str) -> None:
    config = load_config(write(tmp_path, f'[bot]\nadapters = ["slack"]\n[slack]\nmode = "{mode}"\n'))
    with pytest.raises(ConfigError) as caught:
        config.check_secrets()
    message = str(caught.value)
    for name in needed:
        assert f"the environment variable {name} is not set" in message
    assert not_needed not in message


def test_secrets_of_adapters_not_enabled_are_not_asked_for(tmp_path: Path, no_secrets: None) -> None:
    load_config(write(tmp_path, '[bot]\nadapters = ["console"]\n')).check_secrets()


def test_run_refuses_to_start_before_touching_the_data_dir(tmp_path: Path) -> None:
    path = write(tmp_path, '[bot]\nadapters = ["console", "discord"]\n')
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS}
    run = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(path), "--data-dir",
                          str(tmp_path / "data")], input="/help\n", capture_output=True, text=True, cwd=REPO,
                         env=env, timeout=60)
    assert run.returncode == 2
    assert "Configuration error: discord.token_env: the environment variable STUDYBOT_DISCORD_TOKEN" in run.stderr
    assert run.stdout == ""  # the console did not start
    assert not (tmp_path / "data").exists()


# Durations and encodings that used to pass or crash later (issue #11)


@pytest.mark.parametrize(("text", "expected"), [
    ("[cooldowns]\nask_seconds = nan\n", "cooldowns.ask_seconds: expected a finite number, got nan"),
    ("[cooldowns]\nquiz_seconds = inf\n", "cooldowns.quiz_seconds: expected a finite number, got inf"),
    ("[daily]\nopen_hours = -inf\n", "daily.open_hours: expected a finite number, got -inf"),
    ("[daily]\ngrace_minutes = 9e18\n", "daily.grace_minutes: expected a whole number, got 9e+18"),
    ("[daily]\ngrace_minutes = 9000000000000000000\n",
     "daily.grace_minutes: must be at most 10080 (a week), got 9000000000000000000"),
    ("[daily]\nopen_hours = 9e18\n", "daily.open_hours: must be at most 168 (a week), got 9e+18"),
    ("[cooldowns]\nask_seconds = 1e300\n", "cooldowns.ask_seconds: must be at most 86400 (a day), got 1e+300"),
    ("[quiz]\nmax_seconds = 99999999\n", "quiz.max_seconds: must be at most 604800 (a week), got 99999999"),
    ("[daily]\ncheck_seconds = 86400\n", "daily.check_seconds: must be at most 3600 (an hour), got 86400"),
    ("[bot]\nmetrics_port = 70000\n", "bot.metrics_port: must be at most 65535 (0 turns it off), got 70000"),
    ("[bot]\nstart_retry_seconds = nan\n", "bot.start_retry_seconds: expected a finite number, got nan"),
    ('[bot]\nlog_format = "xml"\n', "bot.log_format: expected \"text\" or \"json\", got 'xml'"),
    ("[delivery]\ngive_up_hours = inf\n", "delivery.give_up_hours: expected a finite number, got inf"),
    ("[delivery]\nmax_retry_seconds = 1e9\n", "delivery.max_retry_seconds: must be at most 3600 (an hour), got 1e+09"),
    ("[delivery]\nfirst_retry_seconds = 0\n", "delivery.first_retry_seconds: must be 0.1 or more, got 0"),
    ("[delivery]\nunknown_error_attempts = 0\n", "delivery.unknown_error_attempts: must be 1 or more, got 0"),
    ("[delivery]\nlease_seconds = 5\n", "delivery.lease_seconds: must be 6 or more, got 5"),
    ("[delivery]\nlease_seconds = 3600\n", "delivery.lease_seconds: must be at most 600 (10 minutes), got 3600"),
    ("[delivery]\nfirst_retry_seconds = 30\nmax_retry_seconds = 10\n",
     "delivery.max_retry_seconds: must be at least delivery.first_retry_seconds (30), got 10"),
])
def test_durations_must_be_finite_and_bounded(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problem(tmp_path, text)


@pytest.mark.parametrize("lease", [6, 30, 600])
def test_a_delivery_lease_from_6_seconds_to_10_minutes_is_taken(tmp_path: Path, lease: int) -> None:
    assert load_config(write(tmp_path, f"[delivery]\nlease_seconds = {lease}\n")).delivery.lease_seconds == lease


def test_a_latin1_file_is_named_with_its_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes('[bot]\n# Caf\u00e9 team\ntimezone = "UTC"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}:2: the file is not UTF-8 text (byte 0xe9); "
                                 "save it as UTF-8 (TOML files must be)")
