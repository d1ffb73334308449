"""Adapters, one folder (or module) per platform, and the registry ``studybot run`` starts them from.

Each adapter provides one coroutine function ``(bot, config) -> None`` that serves the bot until
cancelled (the console: until its input ends). The registry names it as ``module:function`` so a
platform's library is imported only when its adapter is enabled: the console starts without
touching Discord or Slack code. Adding a platform adds one line here (and its name to
``bot.config.ADAPTERS``, which validates configs without importing any adapter).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from importlib import import_module
from typing import Any

from bot.config import Config
from bot.core.app import StudyBot

AdapterRunner = Callable[[StudyBot, Config], Coroutine[Any, Any, None]]

REGISTRY: dict[str, str] = {
    "console": "bot.adapters.console:run_console",
    "discord": "bot.adapters.discord:run_discord",
    "slack": "bot.adapters.slack:run_slack",
}


def adapter_runner(name: str) -> AdapterRunner:
    """The coroutine function that runs adapter ``name`` (imports its module now).

    Raises:
        KeyError: no adapter has that name (configs are validated against bot.config.ADAPTERS first).
    """
    module, _, function = REGISTRY[name].partition(":")
    runner: AdapterRunner = getattr(import_module(module), function)
    return runner
