"""``GET /healthz`` and ``GET /metrics`` over aiohttp, for supervisors, load balancers and Prometheus.

``/healthz`` answers 200 while the event loop runs (it answers at all) and the timer loop
has completed a tick within the last minute; 503 otherwise, so a stuck timer (reveals and
daily posts stopped while commands still answer) is visible from outside. The same routes
are served on the Slack HTTP server and, in every mode, on ``[bot] metrics_port`` when set.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.core.app import StudyBot

log = logging.getLogger(__name__)
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# Bounded, so a scraper holding a connection open cannot delay shutdown past the supervisor's patience.
SHUTDOWN_SECONDS = 2.0


def health_routes(bot: StudyBot, metrics: bool = True) -> list[web.RouteDef]:
    """The routes for ``bot``: ``/healthz``, and ``/metrics`` unless ``metrics`` is False."""

    async def healthz(_: web.Request) -> web.Response:
        lag = bot.heartbeat.lag()
        if bot.heartbeat.alive():
            return web.Response(text=f"ok: timers ticked {lag:.0f} s ago\n")
        return web.Response(status=503, text=f"unhealthy: timers last ticked {lag:.0f} s ago "
                                             f"(more than {bot.heartbeat.stale_after:g} s)\n")

    async def metrics_text(_: web.Request) -> web.Response:
        return web.Response(text=bot.metrics.render(), content_type="text/plain",
                            headers={"Cache-Control": "no-store"}, charset="utf-8")

    routes = [web.get(HEALTH_PATH, healthz)]
    if metrics:
        routes.append(web.get(METRICS_PATH, metrics_text))
    return routes


async def start_health_server(bot: StudyBot, host: str, port: int) -> web.AppRunner:
    """Serves ``/healthz`` and ``/metrics`` on ``host:port`` until the runner is cleaned up.

    Raises:
        OSError: the port cannot be bound (in use, or a privileged port).
    """
    app = web.Application()
    app.add_routes(health_routes(bot))
    runner = await serve(app, host, port, SHUTDOWN_SECONDS)
    log.info("health and metrics on http://%s:%d%s and %s", host, port, HEALTH_PATH, METRICS_PATH)
    return runner


async def serve(app: web.Application, host: str, port: int, shutdown_seconds: float) -> web.AppRunner:
    """Serves ``app`` on ``host:port`` until the returned runner is cleaned up (port 0: any free port).

    On cleanup, requests in flight get ``shutdown_seconds`` to finish (aiohttp waits 60 s by
    default, longer than Docker's 10 s between SIGTERM and SIGKILL). A port that cannot be bound
    leaves nothing half-started behind.

    Raises:
        OSError: the address cannot be bound (in use, or a privileged port).
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_seconds)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()  # the runner holds the shutdown timeout
    except BaseException:
        await runner.cleanup()
        raise
    return runner
