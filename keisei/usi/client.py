"""An asyncio USI client: one engine subprocess, strings in (SFEN + USI moves), raw ``bestmove`` out.

Every step has a timeout. The engine's stderr goes to a bounded buffer (never the terminal) and is quoted in
errors. Any ``EngineError`` leaves the engine stopped and reaped (``started`` is False); ``start()`` or
``restart()`` brings it back. Move legality is not checked here (see ``keisei.usi.player``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
from collections.abc import Sequence
from typing import Self

from keisei.shogi.sfen import STARTPOS_SFEN
from keisei.usi.spec import EngineSpec

DEFAULT_GO = {"byoyomi": 1000}  # used when the spec gives no go limit at all
GAME_RESULTS = ("win", "lose", "draw")
IMPLICIT_OPTIONS = frozenset({"USI_Hash", "USI_Ponder"})  # USI engines take these without advertising them
_BESTMOVE_RE = re.compile(r"[1-9][a-i][1-9][a-i]\+?|[PLNSGBR]\*[1-9][a-i]|resign|win")
_LINE_LIMIT = 1 << 20
_STDERR_LINE_CHARS = 500


class EngineError(Exception):
    """A USI engine failed; ``engine`` is its name, ``stderr`` its last stderr lines."""

    def __init__(self, message: str, *, engine: str, stderr: Sequence[str] = ()) -> None:
        self.engine = engine
        self.detail = message
        self.stderr = list(stderr)
        text = f"engine {engine}: {message}"
        if self.stderr:
            text += "\nlast stderr lines:\n  " + "\n  ".join(self.stderr[-10:])
        super().__init__(text)


class EngineCrashed(EngineError):
    """The engine exited (or could not be started)."""


class EngineTimeout(EngineError):
    """The engine did not answer in time."""


class EngineProtocolError(EngineError):
    """The engine answered something that is not valid USI."""


class UsiEngine:
    """An async USI engine client for ``spec``; also an async context manager (start / close).

    ``start_timeout`` bounds ``usi``->``usiok`` and ``isready``->``readyok``; a move may take its ``byoyomi``
    / ``movetime`` plus ``move_timeout_margin`` seconds, or ``search_timeout`` when only ``nodes`` / ``depth``
    limit it. On a move timeout the client sends ``stop``, waits ``stop_grace`` seconds, then kills the engine
    and raises ``EngineTimeout``. ``close()`` sends ``quit`` and escalates to SIGTERM, then SIGKILL, after
    ``quit_timeout`` seconds each.
    """

    def __init__(
        self,
        spec: EngineSpec,
        *,
        start_timeout: float = 10.0,
        move_timeout_margin: float = 5.0,
        search_timeout: float = 60.0,
        stop_grace: float = 1.0,
        quit_timeout: float = 2.0,
        stderr_lines: int = 100,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.start_timeout = start_timeout
        self.move_timeout_margin = move_timeout_margin
        self.search_timeout = search_timeout
        self.stop_grace = stop_grace
        self.quit_timeout = quit_timeout
        self.engine_id = ""  # from "id name ..."
        self.engine_options: dict[str, str] = {}  # option name -> its "option name ..." line
        self._stderr: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def started(self) -> bool:
        return self._proc is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def stderr_tail(self) -> list[str]:
        return list(self._stderr)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Launch the engine, ``usi``/``usiok``, set the options, ``isready``/``readyok``.

        ValueError (engine stopped) when the spec sets an option the engine does not advertise.
        """
        if self._proc is not None:
            raise RuntimeError(f"engine {self.name} is already started")
        self._stderr.clear()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.spec.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                limit=_LINE_LIMIT,
                start_new_session=True,  # a Ctrl-C in the terminal is for us, not the engine
            )
        except OSError as exc:
            raise EngineCrashed(f"could not start {self.spec.command}: {exc}", engine=self.name) from None
        assert self._proc.stderr is not None
        self._stderr_task = asyncio.create_task(self._read_stderr(self._proc.stderr))
        try:
            await self._send("usi")
            self._parse_usi_answer(await self._read_until("usiok", self.start_timeout, "starting (usi)"))
            options = self.spec.effective_options()
            unknown = sorted(set(options) - set(self.engine_options) - IMPLICIT_OPTIONS)
            if unknown:
                raise ValueError(
                    f"engine spec {self.spec.to_spec()!r}: {self.name} has no option(s) {', '.join(unknown)}; "
                    f"it has: {', '.join(sorted(self.engine_options)) or 'none'}"
                )
            for key, value in options.items():
                await self._send(f"setoption name {key} value {value}" if value else f"setoption name {key}")
            await self._ready("starting (isready)")
        except BaseException:
            await self._abort()
            raise

    async def restart(self) -> None:
        """``close()`` then ``start()``."""
        await self.close()
        await self.start()

    async def close(self) -> None:
        """``quit``; SIGTERM then SIGKILL if it lingers; always reaps the process. Idempotent."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        try:
            if proc.returncode is None:
                with contextlib.suppress(OSError, TimeoutError):
                    assert proc.stdin is not None
                    proc.stdin.write(b"quit\n")
                    await asyncio.wait_for(proc.stdin.drain(), self.quit_timeout)
                for stop in (proc.terminate, proc.kill):
                    try:
                        await asyncio.wait_for(proc.wait(), self.quit_timeout)
                        break
                    except TimeoutError:
                        with contextlib.suppress(ProcessLookupError):
                            stop()
                await proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        finally:
            await self._finish_stderr()
            if proc.stdin is not None:
                proc.stdin.close()

    def kill(self) -> None:
        """Kill the process without awaiting (for an engine whose event loop is gone)."""
        proc, self._proc, self._stderr_task = self._proc, None, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    # ------------------------------------------------------------------ game
    async def new_game(self) -> None:
        """``isready``/``readyok`` then ``usinewgame`` (starts the engine first if needed)."""
        await self._ensure_started()
        try:
            await self._ready("preparing a new game")
            await self._send("usinewgame")
        except EngineError:
            await self._abort()
            raise

    async def bestmove(self, start_sfen: str, moves: Sequence[str]) -> str:
        """The engine's move for ``start_sfen`` + ``moves``: a raw USI move, ``"resign"`` or ``"win"``."""
        position = self._position_command(start_sfen, moves)
        go, limit = self._go_command()
        await self._ensure_started()
        try:
            await self._send(position)
            await self._send(go)
            try:
                lines = await self._read_until("bestmove", limit, f"thinking ({go})")
            except EngineTimeout:
                await self._stop_search()
                raise
            parts = lines[-1].split()
            if len(parts) < 2 or not _BESTMOVE_RE.fullmatch(parts[1]):
                raise self._error(EngineProtocolError, f"malformed answer {lines[-1]!r} to {go!r}")
            return parts[1]
        except EngineError:
            await self._abort()
            raise

    async def game_over(self, result: str) -> None:
        """Tell the engine ``gameover win|lose|draw`` (from the engine's point of view)."""
        if result not in GAME_RESULTS:
            raise ValueError(f"game_over result must be one of {GAME_RESULTS}, got {result!r}")
        await self._ensure_started()
        try:
            await self._send(f"gameover {result}")
        except EngineError:
            await self._abort()
            raise

    # ------------------------------------------------------------------ helpers
    def _position_command(self, start_sfen: str, moves: Sequence[str]) -> str:
        if any(c in start_sfen for c in "\r\n") or any(not m or m.split() != [m] for m in moves):
            raise ValueError(f"bad position for engine {self.name}: {start_sfen!r} moves {list(moves)!r}")
        base = "position startpos" if start_sfen.strip() in ("startpos", STARTPOS_SFEN) else (
            f"position sfen {start_sfen.strip()}"
        )
        return f"{base} moves {' '.join(moves)}" if moves else base

    def _go_command(self) -> tuple[str, float]:
        """The ``go`` line and how long to wait for its ``bestmove``."""
        go = self.spec.go or DEFAULT_GO
        parts = ["go"]
        if "byoyomi" in go:
            parts += ["btime", "0", "wtime", "0", "byoyomi", str(go["byoyomi"])]
        parts += [f"{key} {go[key]}" for key in ("movetime", "nodes", "depth") if key in go]
        clock_ms = max(go.get("byoyomi", 0), go.get("movetime", 0))
        limit = clock_ms / 1000 + self.move_timeout_margin if clock_ms else self.search_timeout
        return " ".join(parts), limit

    async def _ensure_started(self) -> None:
        if self._proc is None:
            await self.start()

    async def _ready(self, what: str) -> None:
        await self._send("isready")
        await self._read_until("readyok", self.start_timeout, what)

    def _parse_usi_answer(self, lines: list[str]) -> None:
        self.engine_options = {}
        for line in lines:
            if line.startswith("id name "):
                self.engine_id = line[len("id name "):].strip()
            match = re.match(r"option\s+name\s+(.+?)\s+type\s", line)
            if match:
                self.engine_options[match.group(1)] = line

    async def _stop_search(self) -> None:
        """After a move timeout: ``stop`` and a short wait for the late ``bestmove`` (then it is killed)."""
        with contextlib.suppress(EngineError):
            await self._send("stop")
            await self._read_until("bestmove", self.stop_grace, "stopping")

    async def _send(self, line: str) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise RuntimeError(f"engine {self.name} is not started")
        try:
            proc.stdin.write(line.encode() + b"\n")
            await asyncio.wait_for(proc.stdin.drain(), self.start_timeout)
        except (BrokenPipeError, ConnectionResetError):
            raise await self._crash_error(f"sending {line!r}") from None
        except TimeoutError:
            raise self._error(EngineTimeout, f"not reading its input (sending {line!r})") from None

    async def _read_until(self, token: str, timeout: float, what: str) -> list[str]:
        """Lines up to and including the first whose first word is ``token``."""
        lines: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = await self._readline(what)
                    lines.append(line)
                    if line.split(maxsplit=1)[:1] == [token]:
                        return lines
        except TimeoutError:
            raise self._error(EngineTimeout, f"no {token} within {timeout:.1f}s while {what}") from None

    async def _readline(self, what: str) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            data = await self._proc.stdout.readline()
        except ValueError:  # a line longer than the stream limit
            raise self._error(EngineProtocolError, f"output line over {_LINE_LIMIT} bytes while {what}") from None
        if not data:
            raise await self._crash_error(what)
        return data.decode("utf-8", errors="replace").strip()

    async def _crash_error(self, what: str) -> EngineCrashed:
        """An EngineCrashed with the exit code and the stderr written before the exit."""
        proc = self._proc
        code = None
        if proc is not None:
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(proc.wait(), self.quit_timeout)
        await self._finish_stderr()
        return self._error(EngineCrashed, f"exited (code {code}) while {what}")

    def _error(self, cls: type[EngineError], message: str) -> EngineError:
        return cls(message, engine=self.name, stderr=self.stderr_tail)

    async def _abort(self) -> None:
        """Kill and reap the engine now (after an error)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
        await self._finish_stderr()

    async def _finish_stderr(self) -> None:
        task, self._stderr_task = self._stderr_task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), 1.0)
        except TimeoutError:  # a grandchild may hold the pipe open
            task.cancel()

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        """Keep the last stderr lines (each cut to a bounded length) until EOF."""
        pending = ""
        while chunk := await stream.read(4096):
            pending += chunk.decode("utf-8", errors="replace")
            *lines, pending = pending.split("\n")
            self._stderr.extend(line.rstrip()[:_STDERR_LINE_CHARS] for line in lines)
            pending = pending[-_STDERR_LINE_CHARS:]
        if pending.strip():
            self._stderr.append(pending.rstrip()[:_STDERR_LINE_CHARS])
