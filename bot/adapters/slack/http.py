"""HTTP mode: Slack's requests received by an aiohttp server, read correctly, handed to bolt.

Why not bolt's own ``app.web_app()``: bolt decides that a form body is an interactivity
payload when the body merely *contains* the word ``payload`` (slack_bolt 1.30,
``request/internals.py: parse_body``), so ``/study ask what is a payload`` is read as an empty
request, matches no listener and fails. Here a form body is an interactivity payload only
when it has a ``payload`` *field*. The raw body is kept as it came, for bolt's signature check.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.health import serve

EVENTS_PATH = "/slack/events"  # the Request URL of commands, interactivity and events
SHUTDOWN_SECONDS = 3.0


def parse_form(raw_body: str) -> dict[str, Any]:
    """A form-encoded Slack body: the JSON of its ``payload`` field if it has one, else its fields."""
    fields = dict(parse_qsl(raw_body, keep_blank_values=True))
    if "payload" in fields:
        payload = json.loads(fields["payload"])
        return payload if isinstance(payload, dict) else {}
    return fields


def bolt_request(raw_body: str, query: str, headers: dict[str, str]) -> AsyncBoltRequest:
    """The bolt request for an HTTP delivery, with a form body parsed by :func:`parse_form`."""
    request = AsyncBoltRequest(body=raw_body, query=query, headers=headers)  # type: ignore[arg-type]
    is_json = request.content_type == "application/json" or raw_body.startswith("{")
    if raw_body and not is_json:
        body = parse_form(raw_body)
        if body != request.body:  # bolt misread it: replace the body and what bolt derived from it
            request.body = body
            request.context = build_async_context(AsyncBoltContext({}), body)
    return request


def build_web_app(app: AsyncApp, path: str = EVENTS_PATH, routes: Sequence[web.RouteDef] = ()) -> web.Application:
    """An aiohttp application that hands Slack's POSTs at ``path`` to ``app``, plus ``routes`` (health)."""

    async def handle(request: web.Request) -> web.Response:
        raw = await request.text()
        bolt_req = bolt_request(raw, request.query_string, dict(request.headers))
        return await to_aiohttp_response(await app.async_dispatch(bolt_req))

    web_app = web.Application()
    web_app.router.add_post(path, handle)
    web_app.add_routes(routes)
    return web_app


async def start_http(app: AsyncApp, host: str, port: int, routes: Sequence[web.RouteDef] = ()) -> web.AppRunner:
    """Serves ``app`` on ``host:port`` until the returned runner is cleaned up (port 0: any free port).

    Raises:
        OSError: the address cannot be bound.
    """
    return await serve(build_web_app(app, routes=routes), host, port, SHUTDOWN_SECONDS)
