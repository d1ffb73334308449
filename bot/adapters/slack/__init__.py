"""The Slack adapter: one slash command, buttons and mentions in, core replies out as Block Kit.

Modules, by what they hold: ``listeners`` (payloads -> core events, replies -> Slack),
``blocks`` (replies -> Block Kit within Slack's limits), ``mrkdwn`` (Markdown -> Slack's
mrkdwn), ``outbox`` (posts and edits the core makes on its own), ``people`` (names and admin
rights from ``users.info``), ``retries`` (Slack's resends recognised), ``http`` (HTTP mode's
server). ``manifest.yaml`` creates the Slack app with every scope and setting this needs.

Socket Mode (the default) needs no public URL: the app-level token opens a WebSocket to Slack.
HTTP mode serves ``/slack/events`` and checks each request's signature with the signing secret.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.http import EVENTS_PATH, start_http
from bot.adapters.slack.listeners import register_listeners
from bot.adapters.slack.outbox import SlackOutbox
from bot.adapters.slack.people import PLATFORM, UserDirectory
from bot.adapters.slack.retries import RetryFilter, SharedDeliveryLog
from bot.config import Config, ConfigError
from bot.core.app import StudyBot
from bot.health import health_routes
from bot.startup import StartupError, is_network_error, retry_network

__all__ = ["build_app", "connect_socket_mode", "run_slack"]
log = logging.getLogger(__name__)


def build_app(bot: StudyBot, config: Config, client: AsyncWebClient | None = None, *,
              process_before_response: bool = False) -> AsyncApp:
    """A bolt app serving ``bot``: listeners registered, retries filtered, the Slack outbox attached.

    Without ``client``, one is made from the bot token in the environment variable named by
    ``slack.bot_token_env``, talking to ``slack.api_base_url``. In HTTP mode the signing secret
    (``slack.signing_secret_env``) is required; Socket Mode requests come over a connection the
    app-level token opened, so there is nothing to sign. ``process_before_response`` makes a
    request wait for its listener (tests; serverless hosts); otherwise Slack gets its
    acknowledgement first and the work finishes after.

    Raises:
        ConfigError: a token or secret's environment variable is not set, or holds the wrong kind.
    """
    slack = config.slack
    if client is None:
        token = config.secret(slack.bot_token_env, "slack.bot_token_env")
        if not token.startswith("xoxb-"):
            raise ConfigError(f"slack.bot_token_env: {slack.bot_token_env} must hold the Bot User OAuth Token "
                              "(xoxb-…, under OAuth & Permissions), not " + _kind_of(token))
        # The client joins method names onto the base URL: without the final "/", "api" would be dropped.
        base_url = slack.api_base_url if slack.api_base_url.endswith("/") else slack.api_base_url + "/"
        client = AsyncWebClient(token=token, base_url=base_url)
    http = slack.mode == "http"
    secret = config.secret(slack.signing_secret_env, "slack.signing_secret_env") if http else None
    app = AsyncApp(name="studybot", client=client, signing_secret=secret, request_verification_enabled=http,
                   process_before_response=process_before_response)
    app.use(RetryFilter(SharedDeliveryLog(bot.store, bot.clock) if bot.store.shared else None))
    outbox = SlackOutbox(client)
    register_listeners(app, bot, outbox, UserDirectory(client, slack.admin_user_ids), slack.command)
    bot.attach(PLATFORM, outbox)
    return app


async def run_slack(bot: StudyBot, config: Config) -> None:
    """Connects to Slack (Socket Mode or HTTP, per ``slack.mode``) and serves ``bot`` until cancelled.

    The core's timers run elsewhere (``studybot run`` ticks them).

    A network that is down at start is retried for ``bot.start_retry_seconds``. In HTTP mode
    the server also answers ``GET /healthz``.

    Raises:
        ConfigError: a token or secret is missing or wrong, or Slack refused the bot token.
        StartupError: Slack's Web API stayed unreachable, or the HTTP port cannot be bound.
    """
    slack = config.slack
    app_token = _app_token(config) if slack.mode == "socket" else ""  # fail before any connection
    app = build_app(bot, config)
    budget = config.bot.start_retry_seconds
    await retry_network(lambda: _introduce(app), f"Slack's Web API at {slack.api_base_url} (slack.api_base_url)",
                        budget, retryable=_worth_retrying)
    if slack.mode == "http":
        try:
            runner = await start_http(app, slack.http_host, slack.http_port, health_routes(bot, metrics=False))
        except OSError as exc:
            raise StartupError(f"cannot listen on {slack.http_host}:{slack.http_port} (slack.http_host, "
                               f"slack.http_port): {exc.strerror or exc}; choose a free port") from None
        log.info("Slack: HTTP mode, listening on %s:%d%s", slack.http_host, slack.http_port, EVENTS_PATH)
        try:
            await asyncio.Event().wait()  # serve until cancelled
        finally:
            await runner.cleanup()
        return
    handler = await retry_network(lambda: _open_socket(app, app_token, slack.app_token_env),
                                  "Slack's Socket Mode service", budget, retryable=_worth_retrying)
    log.info("Slack: connected in Socket Mode")
    try:
        await asyncio.Event().wait()
    finally:
        await handler.close_async()


async def connect_socket_mode(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """Opens the Socket Mode connection (``apps.connections.open`` with the app-level token)."""
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    return handler


async def _open_socket(app: AsyncApp, app_token: str, env_name: str) -> AsyncSocketModeHandler:
    """Checks the app-level token with one ``apps.connections.open``, then connects.

    The check comes first because slack_sdk's Socket Mode client retries a refused token
    forever, logging a traceback each time, instead of failing.
    """
    try:
        await app.client.apps_connections_open(app_token=app_token)
        return await connect_socket_mode(app, app_token)
    except SlackApiError as exc:
        if _worth_retrying(exc):
            raise
        raise ConfigError(f"slack.app_token_env: Slack refused the app-level token in {env_name} "
                          f"({exc.response.get('error')}); create one again under Basic Information > App-Level "
                          "Tokens, with the connections:write scope") from None


def _app_token(config: Config) -> str:
    token = config.secret(config.slack.app_token_env, "slack.app_token_env")
    if not token.startswith("xapp-"):
        raise ConfigError(f"slack.app_token_env: Socket Mode needs the app-level token (xapp-…, under Basic "
                          f"Information > App-Level Tokens, with the connections:write scope) in "
                          f"{config.slack.app_token_env}, not " + _kind_of(token))
    return token


def _kind_of(token: str) -> str:
    kinds = {"xoxb-": "a bot token", "xapp-": "an app-level token", "xoxp-": "a user token"}
    return next((kind for prefix, kind in kinds.items() if token.startswith(prefix)), "an unknown kind of value")


async def _introduce(app: AsyncApp) -> None:
    """Checks the bot token once at start (``auth.test``) and says who the bot is, and where."""
    try:
        who = await app.client.auth_test()
    except SlackApiError as exc:
        if _worth_retrying(exc):
            raise
        raise ConfigError(f"slack.bot_token_env: Slack refused the bot token ({exc.response.get('error')}); "
                          "copy the Bot User OAuth Token again after (re)installing the app") from None
    log.info("Slack: signed in as @%s in workspace %s (%s)", who.get("user"), who.get("team"), who.get("team_id"))


def _worth_retrying(exc: BaseException) -> bool:
    """The network, or Slack having a bad moment (HTTP 429 or 5xx), rather than a refusal."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        return status == 429 or status >= 500
    return is_network_error(exc)
