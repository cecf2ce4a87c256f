"""The dashboard's web app (Starlette, ASGI): a JSON API over the served runs, server-sent events for live
updates, and the page's own static assets (no CDN).

Read-only by construction: no endpoint writes into a run (a Play game lives in memory; its record is a
download). Errors are JSON ``{"error": "..."}`` with a 4xx: an unknown run, game or checkpoint is a 404, a
malformed request a 400, a path leading outside a run a 404, the Play cap a 429, a broken checkpoint a 422.
When a token is set (binding beyond localhost), every request must carry it: ``?token=``, an
``Authorization: Bearer`` header, or the cookie the first tokened page load sets.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from keisei.checkpoint import CheckpointError
from keisei.dashboard import evaluation as evaluation_mod
from keisei.dashboard import games as games_mod
from keisei.dashboard.play import Limits, Networks, PlayGames, checkpoint_path
from keisei.dashboard.runs import (
    NotFound,
    PathRefused,
    RunIndex,
    checkpoints,
    read_config,
    read_json,
    summary,
)
from keisei.dashboard.scalars import ScalarReader
from keisei.training.live import LIVE_FILE

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
COOKIE = "keisei_token"
LIVE_POLL_S = 0.5
SCALAR_POLL_S = 2.0


class State:
    """What the app shares between requests: the runs, per-run readers (created on first use), networks."""

    def __init__(self, sources: list[Path], token: str | None, limits: Limits) -> None:
        self.index = RunIndex(sources)
        self.token = token
        self.scalars: dict[str, ScalarReader] = {}
        self.scalars_read: dict[str, float] = {}
        self.game_index: dict[str, games_mod.GameIndex] = {}
        self.networks = Networks(limits)
        self.play = PlayGames(self.networks)
        self.streams = 0

    def reader(self, name: str, path: Path, max_age_s: float = 1.0) -> ScalarReader:
        reader = self.scalars.get(name)
        if reader is None or reader.run_dir != path:
            reader = self.scalars[name] = ScalarReader(path)
        if time.monotonic() - self.scalars_read.get(name, 0.0) > max_age_s:
            self.scalars_read[name] = time.monotonic()
            reader.refresh()
        return reader

    def games(self, name: str, path: Path) -> games_mod.GameIndex:
        index = self.game_index.get(name)
        if index is None or index.run_dir != path:
            index = self.game_index[name] = games_mod.GameIndex(path)
        index.refresh()
        return index


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _to_thread(fn, *args, **kwargs):
    return await asyncio.to_thread(fn, *args, **kwargs)


def _run(request: Request):
    state: State = request.app.state.keisei
    return state, state.index.get(request.path_params["run"])


def _int_param(request: Request, name: str, default: int, low: int = 0, high: int = 10**12) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name}: between {low} and {high}, got {value}")
    return value


# ---------------------------------------------------------------------------------------------- endpoints
async def index_page(request: Request) -> Response:
    response = FileResponse(STATIC / "index.html", media_type="text/html")
    token = request.app.state.keisei.token
    if token and request.query_params.get("token") == token:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


async def api_runs(request: Request) -> Response:
    state: State = request.app.state.keisei
    rows = await _to_thread(lambda: [summary(r) for r in state.index.runs()])
    rows.sort(key=lambda r: -(r["updated"] or 0))
    return JSONResponse({"runs": rows})


async def api_run(request: Request) -> Response:
    _, run = _run(request)

    def build() -> dict[str, Any]:
        return {"summary": summary(run), "config": read_config(run), "checkpoints": checkpoints(run),
                "live": read_json(run.path / LIVE_FILE)}
    return JSONResponse(await _to_thread(build))


async def api_scalars(request: Request) -> Response:
    state, run = _run(request)
    tags = [t for t in request.query_params.get("tags", "").split(",") if t] or None
    since = request.query_params.get("since")
    since_step = _int_param(request, "since", 0, -1) if since is not None else None
    reader = await _to_thread(state.reader, run.name, run.path)
    return JSONResponse({"tags": reader.tags(), "series": reader.get(tags, since_step)})


async def api_evaluation(request: Request) -> Response:
    _, run = _run(request)
    anchor = request.query_params.get("anchor", "random")
    return JSONResponse(await _to_thread(evaluation_mod.evaluation, run.path, anchor))


async def api_games(request: Request) -> Response:
    state, run = _run(request)
    q = request.query_params
    kind = q.get("kind", "")
    if kind not in ("", "selfplay", "evaluation"):
        raise ValueError(f"kind {kind!r}: selfplay or evaluation")
    index = await _to_thread(state.games, run.name, run.path)
    return JSONResponse(index.listing(kind=kind, player=q.get("player", ""), result=q.get("result", ""),
                                      reason=q.get("reason", ""), min_plies=_int_param(request, "min_plies", 0),
                                      max_plies=_int_param(request, "max_plies", -1, -1) if q.get("max_plies") else None,
                                      offset=_int_param(request, "offset", 0),
                                      limit=_int_param(request, "limit", 100, 1, 1000)))


async def api_game(request: Request) -> Response:
    _, run = _run(request)
    game_id = request.query_params.get("id", "")
    fmt = request.query_params.get("download")
    if fmt:
        data, name = await _to_thread(games_mod.download, run.path, game_id, fmt)
        return Response(data, media_type="text/plain; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return JSONResponse(await _to_thread(games_mod.replay, run.path, game_id))


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("request body: not JSON") from None
    if not isinstance(body, dict):
        raise ValueError("request body: a JSON object")  # noqa: TRY004 - a 400, as every bad request
    return body


async def api_analyse(request: Request) -> Response:
    state, run = _run(request)
    body = await _json_body(request)
    path = checkpoint_path(run.path, str(body.get("checkpoint", "")))
    moves = body.get("moves", [])
    if not isinstance(moves, list) or not all(isinstance(m, str) for m in moves):
        raise ValueError("moves: a list of USI moves")
    sfen = body.get("sfen") or ""
    if not isinstance(sfen, str):
        raise ValueError("sfen: a string")  # noqa: TRY004 - a 400
    result = await _to_thread(state.networks.analyse, path, sfen, moves, body.get("nodes", 0))
    return JSONResponse(result)


async def api_play_new(request: Request) -> Response:
    state: State = request.app.state.keisei
    body = await _json_body(request)
    run = state.index.get(str(body.get("run", "")))
    pg = await _to_thread(state.play.new, run.name, run.path, str(body.get("checkpoint", "")),
                          str(body.get("side", "black")), body.get("nodes", 0))
    return JSONResponse(pg.state())


async def api_play(request: Request) -> Response:
    state: State = request.app.state.keisei
    gid = request.path_params["gid"]
    if request.method == "GET":
        fmt = request.query_params.get("download")
        if fmt:
            data, name = state.play.record(gid, fmt)
            return Response(data, media_type="text/plain; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        return JSONResponse(state.play.get(gid).state())
    body = await _json_body(request)
    if body.get("resign"):
        return JSONResponse(state.play.resign(gid).state())
    pg = await _to_thread(state.play.move, gid, body.get("move"))
    return JSONResponse(pg.state())


async def api_events(request: Request) -> Response:
    """Server-sent events: ``live`` (live.json, when it changes) and ``scalars`` (new points) for one run."""
    state, run = _run(request)
    since = _int_param(request, "since", -1, -1)

    async def stream():
        state.streams += 1
        live_path = run.path / LIVE_FILE
        seen = None
        last_step = since
        next_scalars = 0.0
        try:
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                try:
                    st = live_path.stat()
                    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                except OSError:
                    stamp = None
                if stamp is not None and stamp != seen:
                    live = read_json(live_path)
                    if live is not None:
                        seen = stamp
                        yield f"event: live\ndata: {json.dumps(live, separators=(',', ':'))}\n\n"
                now = time.monotonic()
                if now >= next_scalars:
                    next_scalars = now + SCALAR_POLL_S
                    reader = await _to_thread(state.reader, run.name, run.path)
                    series = reader.get(None, last_step)
                    fresh = {t: s for t, s in series.items() if s["step"]}
                    if fresh:
                        last_step = max(max(s["step"]) for s in fresh.values())
                        yield f"event: scalars\ndata: {json.dumps(fresh, separators=(',', ':'))}\n\n"
                    else:
                        yield ": keep-alive\n\n"
                await asyncio.sleep(LIVE_POLL_S)
        finally:
            state.streams -= 1

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# ---------------------------------------------------------------------------------------------- errors
async def _handle(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return error(exc.status_code, str(exc.detail))
    if isinstance(exc, NotFound | PathRefused):
        return error(404, str(exc.args[0]) if exc.args else "not found")
    if isinstance(exc, CheckpointError):
        return error(422, str(exc))
    if isinstance(exc, OverflowError):
        return error(429, str(exc))
    if isinstance(exc, ValueError | KeyError | TypeError):
        return error(400, str(exc.args[0]) if exc.args else type(exc).__name__)
    logger.exception("dashboard: %s %s failed", request.method, request.url.path)
    return error(500, f"internal error ({type(exc).__name__}); see the dashboard's log")


class ErrorsAndToken:
    """ASGI middleware: the token check, and JSON errors (never a traceback) for everything below it."""

    def __init__(self, app, state: State) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        token = self.state.token
        if token and not self._authorised(request, token):
            await error(401, "missing or wrong token: open the URL the dashboard printed (it carries ?token=)")(
                scope, receive, send)
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            await (await _handle(request, exc))(scope, receive, send)

    @staticmethod
    def _authorised(request: Request, token: str) -> bool:
        given = (request.query_params.get("token") or request.cookies.get(COOKIE)
                 or request.headers.get("authorization", "").removeprefix("Bearer ").strip())
        return bool(given) and hmac.compare_digest(given.encode(), token.encode())


async def _not_found(request: Request, exc: Exception) -> Response:
    return await _handle(request, exc)


def create_app(sources: list[Path], token: str | None = None, limits: Limits | None = None) -> Starlette:
    state = State([Path(s) for s in sources], token, limits or Limits())
    routes = [
        Route("/", index_page),
        Route("/api/runs", api_runs),
        Route("/api/runs/{run}", api_run),
        Route("/api/runs/{run}/scalars", api_scalars),
        Route("/api/runs/{run}/evaluation", api_evaluation),
        Route("/api/runs/{run}/games", api_games),
        Route("/api/runs/{run}/game", api_game),
        Route("/api/runs/{run}/analyse", api_analyse, methods=["POST"]),
        Route("/api/runs/{run}/events", api_events),
        Route("/api/play", api_play_new, methods=["POST"]),
        Route("/api/play/{gid}", api_play, methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(ErrorsAndToken, state=state)],
                    exception_handlers={HTTPException: _not_found, 404: _not_found, 405: _not_found})
    app.state.keisei = state
    return app
