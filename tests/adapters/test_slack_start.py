"""Starting the Slack adapter: refusals named with their setting, Slack's bad moments retried, a busy
port named; none of them a traceback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.adapters.slack import run_slack
from bot.config import ConfigError
from bot.startup import StartupError
from tests.adapters.test_slack import FakeSlack, slack_config, tokens  # noqa: F401  (fixture)
from tests.core.fakes import make_bot


class MoodySlack(FakeSlack):
    """Answers auth.test with HTTP 503 a few times first, and refuses the app-level token."""

    def __init__(self, unavailable: int) -> None:
        super().__init__()
        self.unavailable = unavailable

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "auth.test" and self.unavailable > 0:
            self.unavailable -= 1
            return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        return await super()._api(request)

    def _answer(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": False, "error": "invalid_auth"}
        return super()._answer(method, data)


@pytest.fixture
async def moody() -> AsyncIterator[MoodySlack]:
    fake = MoodySlack(unavailable=1)
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.mark.usefixtures("tokens")
async def test_a_503_at_start_is_retried_and_a_refused_app_token_is_named(moody: MoodySlack) -> None:
    bot, _, _ = await make_bot(config=slack_config(moody.base_url, mode="socket"))
    with pytest.raises(ConfigError) as caught:
        await run_slack(bot, bot.config)
    assert str(caught.value) == ("slack.app_token_env: Slack refused the app-level token in STUDYBOT_SLACK_APP_TOKEN "
                                 "(invalid_auth); create one again under Basic Information > App-Level Tokens, with "
                                 "the connections:write scope")
    assert moody.unavailable == 0 and len(moody.of("auth.test")) == 1  # the 503 was retried, then signed in


@pytest.mark.usefixtures("tokens")
async def test_a_port_in_use_is_named_with_its_settings(moody: MoodySlack) -> None:
    moody.unavailable = 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        bot, _, _ = await make_bot(config=slack_config(moody.base_url, http_host="127.0.0.1", http_port=port))
        with pytest.raises(StartupError, match=rf"^cannot listen on 127.0.0.1:{port} \(slack.http_host, "
                                               r"slack.http_port\): .*; choose a free port$"):
            await run_slack(bot, bot.config)
