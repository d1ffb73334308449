"""Starting the Discord adapter against a loopback stand-in for Discord's REST API: a refused token is
named with its setting, an unreachable Discord ends in one StartupError, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from discord.http import Route

from bot.adapters.discord import run_discord
from bot.config import BotSection, Config, ConfigError
from bot.startup import StartupError
from tests.core.fakes import make_bot


@pytest.fixture
async def discord_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    """Discord's REST API on loopback, refusing every token as Discord does (HTTP 401); records paths."""
    seen: list[str] = []

    async def unauthorized(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", unauthorized)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    monkeypatch.setattr(Route, "BASE", f"http://127.0.0.1:{server.port}/api/v10")
    monkeypatch.setenv("STUDYBOT_DISCORD_TOKEN", "wrong.token.value")
    yield seen
    await server.close()


async def test_a_refused_token_names_the_setting_and_what_to_do(discord_api: list[str]) -> None:
    bot, _, _ = await make_bot(config=Config(bot=BotSection(adapters=["discord"])))
    with pytest.raises(ConfigError) as caught:
        await run_discord(bot, bot.config)
    assert str(caught.value) == ("discord.token_env: Discord refused the token in STUDYBOT_DISCORD_TOKEN; copy it "
                                 "again from the Developer Portal (your application > Bot > Reset Token)")
    assert discord_api == ["/api/v10/users/@me"]  # asked once: a refusal is not retried


async def test_unreachable_discord_ends_in_one_startup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens: connection refused, as with no network
    monkeypatch.setattr(Route, "BASE", f"http://127.0.0.1:{closed}/api/v10")
    monkeypatch.setenv("STUDYBOT_DISCORD_TOKEN", "some.token.value")
    bot, _, _ = await make_bot(config=Config(bot=BotSection(adapters=["discord"], start_retry_seconds=0)))
    with pytest.raises(StartupError, match=r"^cannot reach Discord's API \(discord.com\) \(ClientConnectorError"):
        await run_discord(bot, bot.config)
