"""A USI engine server (stdin/stdout) driving an injected ``Thinker``; never imports torch.

Threads: a reader thread turns input bytes into lines on one event queue; the main thread handles commands
in order; one worker thread runs searches (and ``go mate``) and posts their end to the same queue. So stdin
is read while thinking, ``stop``/``ponderhit``/``isready`` are answered during a search, and the threads are
the same three for the whole process, however many games it plays. ``go mate`` runs df-pn in one child
process (keisei.usi.mate.MateProcess), killed and restarted on stop: cshogi's df-pn cannot be interrupted.

Protocol rules kept here (USI, with the Shogidokoro / ShogiHome extensions):

* ``usi`` answers at once; the thinker (the network) is built at ``isready``, and rebuilt there only when an
  option of ``RELOAD_OPTIONS`` changed.
* exactly one ``bestmove`` per ``go``; after ``go infinite`` or ``go ponder`` it comes only after ``stop``
  (or, for ponder, after ``ponderhit`` and the then-started clock). A command that needs the engine idle
  (``position``, ``go``, ``usinewgame``, ``gameover``, ``quit``) stops a running search first and sends
  its ``bestmove``.
* a bad ``position`` (malformed SFEN, illegal or malformed move) is answered by ``info string`` naming it and
  is not applied; a ``go`` then answers ``bestmove resign`` (there is no position to play).
* ``bestmove win`` when the entering-king declaration is legal and wins (``EnteringKingRule``);
  ``bestmove resign`` when there is no legal move or the score is at most ``-ResignValue`` cp.
* unknown commands and options get ``info string`` and are otherwise ignored.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import cshogi

from keisei.shogi import Game, IllegalMoveError
from keisei.shogi.mate import MateResult
from keisei.shogi.sfen import parse_position
from keisei.usi.mate import MateProcess, root_mate
from keisei.usi.options import RELOAD_OPTIONS, OptionValues
from keisei.usi.thinking import ThinkerFactory, ThinkLine, ThinkReport, ThinkRequest, value_to_cp
from keisei.usi.timeman import CLOCK_FIELDS, GoLimits, parse_go, think_time_ms

ENGINE_NAME = "Keisei"
EXIT_NO_NETWORK = 2  # isready could not load the network (a bad ModelFile): the engine exits
ENGINE_AUTHOR = "Keisei developers"
NO_CLOCK_MS = 1000  # `go` with no clock and no node limit thinks this long
HEARTBEAT_S = 0.45  # an `info` line at least this often while thinking
_MAX_PLIES = 1_000_000  # Game's ply limit when DrawPly is 0 (no draw by length)


@dataclass
class _Search:
    """One `go` in flight."""

    limits: GoLimits
    game: Game | None
    started: float
    deadline: float | None  # monotonic time to stop at; None: no time limit (yet)
    hold: bool  # infinite / ponder: keep the bestmove until stop (or ponderhit)
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    report: ThinkReport | None = None
    mate: MateResult | None = None
    special: str | None = None  # "win" / "resign" decided before any search
    error: str | None = None
    latest: ThinkReport | None = None
    last_info: float = 0.0
    reported: bool = False  # the final info lines were sent
    answered: bool = False

    def should_stop(self) -> bool:
        return self.stop.is_set() or (self.deadline is not None and time.monotonic() >= self.deadline)


class UsiServer:
    """The engine: ``run()`` until ``quit`` or end of input; -> exit status 0 (2 when ``isready`` could not
    load the network: it answers no ``readyok`` and exits, so the GUI reports a failed engine)."""

    def __init__(
        self,
        factory: ThinkerFactory,
        *,
        model_file: str = "",
        name: str = ENGINE_NAME,
        author: str = ENGINE_AUTHOR,
        in_fd: int = 0,
        out_fd: int = 1,
        log: Callable[[str], None] | None = None,
        option_defaults: Mapping[str, object] | None = None,
    ) -> None:
        self.factory = factory
        self.name = name
        self.author = author
        self.options = OptionValues(model_file, option_defaults)
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.log = log or (lambda message: None)
        self.thinker = None
        self._built_with: dict[str, object] | None = None
        self.game: Game | None = Game(max_plies=_MAX_PLIES)
        self.position_error: str | None = None
        self._events: queue.Queue[tuple[str, object]] = queue.Queue()
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._write_lock = threading.Lock()
        self._search: _Search | None = None
        self._worker: threading.Thread | None = None
        self._mate = MateProcess()  # `go mate` runs df-pn in a child process that a stop can kill
        self._closed = False
        self.exit_code = 0

    # ------------------------------------------------------------------ loop
    def run(self) -> int:
        threading.Thread(target=self._read_input, name="usi-reader", daemon=True).start()
        self._worker = threading.Thread(target=self._work, name="usi-worker", daemon=True)
        self._worker.start()
        try:
            while not self._closed:
                try:
                    kind, payload = self._events.get(timeout=0.1)
                except queue.Empty:
                    self._heartbeat()
                    continue
                if kind == "line":
                    self._handle(str(payload))
                elif kind == "done":
                    self._search_done(payload)  # type: ignore[arg-type]
                else:  # end of input: as quit
                    self._quit()
                self._heartbeat()
        finally:
            self._shutdown()
        return self.exit_code

    def _read_input(self) -> None:
        """Lines from ``in_fd`` (raw reads: no buffered-stream lock held at interpreter exit)."""
        pending = b""
        try:
            while chunk := os.read(self.in_fd, 65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    self._events.put(("line", raw.decode("utf-8", errors="surrogateescape").strip("\r\n")))
        except OSError:
            pass
        if pending.strip():
            self._events.put(("line", pending.decode("utf-8", errors="surrogateescape")))
        self._events.put(("eof", None))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def say(self, line: str) -> None:
        """Write one line and flush (os.write on the fd: unbuffered); a closed output ends the engine."""
        data = (line + "\n").encode("utf-8", errors="backslashreplace")
        with self._write_lock:
            try:
                while data:
                    data = data[os.write(self.out_fd, data):]
            except OSError:
                self._closed = True

    def info_string(self, text: str) -> None:
        self.say("info string " + " ".join(text.split()))

    # -------------------------------------------------------------- commands
    def _handle(self, line: str) -> None:
        words = line.split()
        if not words:
            return
        command, args = words[0], words[1:]
        handler = _COMMANDS.get(command)
        if handler is None:
            self.info_string(f"unknown command ignored: {line.strip()[:200]}")
            return
        handler(self, line, args)

    def _usi(self, line: str, args: list[str]) -> None:
        self.say(f"id name {self.name}")
        self.say(f"id author {self.author}")
        for declaration in self.options.declarations():
            self.say(declaration)
        self.say("usiok")

    def _isready(self, line: str, args: list[str]) -> None:
        if self._search is None:
            self._ensure_thinker()
            if self.thinker is None:  # never `readyok` without a network: the GUI reports a failed engine
                self.log("not ready: no network could be loaded; exiting with status 2")
                self.exit_code = EXIT_NO_NETWORK
                self._quit()
                return
            self._mate.start()  # boots in the background: `go mate` then answers at once
        self.say("readyok")

    def _setoption(self, line: str, args: list[str]) -> None:
        rest = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""
        head, sep, value = rest.partition(" value ")
        if not sep and rest.endswith(" value"):
            head, value = rest[: -len(" value")], ""
        words = head.split()
        if not words or words[0] != "name" or len(words) < 2:
            self.info_string(f"setoption ignored (expected 'setoption name <id> [value <x>]'): {line[:200]}")
            return
        name = " ".join(words[1:])
        try:
            self.options.set(name, value)
        except KeyError:
            self.info_string(f"unknown option ignored: {name}")
        except ValueError as exc:
            self.info_string(f"setoption ignored: {exc}")

    def _usinewgame(self, line: str, args: list[str]) -> None:
        self._finish_search()
        if self.thinker is not None:
            self.thinker.new_game()
        self.game, self.position_error = Game(max_plies=_MAX_PLIES), None

    def _position(self, line: str, args: list[str]) -> None:
        self._finish_search()
        try:
            self.game = self._parse_position(args)
            self.position_error = None
        except ValueError as exc:
            self.position_error = str(exc)
            self.info_string(f"position not applied: {exc}")

    def _parse_position(self, args: list[str]) -> Game:
        sfen, moves = parse_position(args)
        try:
            return Game.from_moves(sfen, moves, max_plies=_MAX_PLIES, impasse_points=self._impasse_points())
        except IllegalMoveError as exc:
            raise ValueError(f"move {exc.ply} {exc.move!r} is illegal or malformed ({exc})") from None
        except ValueError as exc:
            raise ValueError(f"malformed sfen {sfen!r}: {exc}") from None

    def _go(self, line: str, args: list[str]) -> None:
        self._finish_search()
        try:
            limits = parse_go(args)
        except ValueError as exc:
            if args[:1] == ["mate"]:
                self.info_string(f"go: {exc}; searching for a mate without a limit")
                limits = GoLimits(mate=-1, is_mate=True)
            else:
                self.info_string(f"go: {exc}; searching with the clock it gave")
                limits = parse_go([w for w in args if w in ("infinite", "ponder")])
        now = time.monotonic()
        game = self._search_game()
        # an explicit node or depth limit ends an infinite search (as the Stockfish family does); ponder holds
        explicit = limits.nodes is not None or limits.depth is not None
        search = _Search(limits, game, now, None, hold=limits.ponder or (limits.infinite and not explicit))
        self._search = search
        if limits.is_mate:
            search.hold = False
            if limits.mate is not None and limits.mate >= 0:
                margin = min(self._margin_ms(), limits.mate // 2)  # as for a byoyomi: never more than half
                search.deadline = now + max(1, limits.mate - margin) / 1000
            self._jobs.put(lambda: self._mate_job(search))
            return
        if not limits.ponder:
            search.deadline = self._deadline(limits, game, now)
        search.special = self._special_move(game, search)
        if search.special is not None:
            search.done.set()
            self._events.put(("done", search))
            return
        if self.thinker is None:
            self._ensure_thinker()
            if self.thinker is None:
                search.special, search.error = "resign", "no network loaded"
                search.done.set()
                self._events.put(("done", search))
                return
        self._jobs.put(lambda: self._think_job(search))

    def _stop(self, line: str, args: list[str]) -> None:
        search = self._search
        if search is not None:
            search.hold = False
            search.stop.set()
            if search.done.is_set():
                self._answer(search)

    def _ponderhit(self, line: str, args: list[str]) -> None:
        search = self._search
        if search is None or not search.limits.ponder:
            return
        now = time.monotonic()
        search.limits = GoLimits(**{**search.limits.__dict__, "ponder": False})
        if args:  # YaneuraOu's extension (ShogiHome's "early ponder"): the clock as it is now
            try:
                clock = parse_go(args)
                search.limits = GoLimits(**{**search.limits.__dict__,
                                            **{k: getattr(clock, k) for k in CLOCK_FIELDS}})
            except ValueError as exc:
                self.info_string(f"ponderhit: {exc}; keeping the clock of the go ponder")
        search.hold = search.limits.infinite
        search.deadline = self._deadline(search.limits, search.game, now)
        if search.done.is_set() and not search.hold:
            self._answer(search)

    def _gameover(self, line: str, args: list[str]) -> None:
        self._finish_search()
        if self.thinker is not None:
            self.thinker.new_game()
        self.log(f"gameover {' '.join(args)}".strip())

    def _quit(self, line: str = "", args: list[str] | None = None) -> None:
        self._finish_search()
        self._closed = True

    def _ignore(self, line: str, args: list[str]) -> None:
        """`debug`, `register`: nothing to do."""

    # ------------------------------------------------------------- searching
    def _search_game(self) -> Game | None:
        """A copy of the position for the search, with the DrawPly limit applied (None if no position)."""
        if self.position_error is not None or self.game is None:
            return None
        game = self.game
        draw_ply = int(self.options["DrawPly"])
        played_before = cshogi.Board(game.start_sfen).move_number - 1
        if game.result is not None and game.result.reason in ("repetition", "perpetual_check", "max_plies"):
            game = Game(game.sfen(), max_plies=_MAX_PLIES, impasse_points=game.impasse_points)
            played_before = game.board.move_number - 1
        if draw_ply <= 0:
            return game.copy()
        limit = max(game.ply + 1, draw_ply - played_before)
        return Game.from_moves(game.start_sfen, game.moves, max_plies=limit, impasse_points=game.impasse_points)

    def _special_move(self, game: Game | None, search: _Search) -> str | None:
        if game is None:
            search.error = f"no valid position ({self.position_error or 'none given'})"
            return "resign"
        if game.result is not None:
            return "resign"  # checkmated or no legal move: nothing to play
        if self.options["EnteringKingRule"] != "NoEnteringKing" and game.impasse_outcome() == "win":
            return "win"
        return None

    def _impasse_points(self) -> int:
        return 24 if self.options["EnteringKingRule"] == "CSARule24" else 27

    def _margin_ms(self) -> int:
        return int(self.options["ByoyomiMargin"])

    def _deadline(self, limits: GoLimits, game: Game | None, now: float) -> float | None:
        turn = game.turn if game is not None else "black"
        ms = think_time_ms(
            limits, turn, byoyomi_margin=int(self.options["ByoyomiMargin"]),
            time_margin=int(self.options["TimeMargin"]),
        )
        if ms is None:
            if limits.infinite or limits.nodes or int(self.options["NodesLimit"]) > 0:
                return None
            ms = NO_CLOCK_MS
        return now + ms / 1000

    def _ensure_thinker(self) -> None:
        wanted = {k: v for k, v in self.options.as_dict().items() if k in RELOAD_OPTIONS}
        if self.thinker is not None and wanted == self._built_with:
            return
        if self.thinker is not None:
            with contextlib.suppress(Exception):
                self.thinker.close()
            self.thinker = None
        try:
            self.thinker = self.factory(self.options.as_dict())
            self._built_with = wanted
        except Exception as exc:  # noqa: BLE001 - a bad ModelFile must not kill the engine: report it, go on
            self._built_with = None
            self.info_string(f"error: could not load the network: {exc}")
            self.log(f"could not load the network: {exc}")

    def _think_job(self, search: _Search) -> None:
        """Worker thread: root df-pn, then the thinker; always ends with ``done`` set and posted."""
        assert search.game is not None and self.thinker is not None
        try:
            nodes = search.limits.nodes or int(self.options["NodesLimit"]) or None
            mate_nodes = int(self.options["MateSearchNodes"])
            found = None
            if mate_nodes > 0:
                found = root_mate(search.game, mate_nodes, search.should_stop, self._mate_time_left(search))
            if found is not None:
                search.report = ThinkReport((ThinkLine(found[0], 1.0, tuple(found), mate=len(found)),), nodes=1,
                                            depth=len(found), seldepth=len(found))
            else:
                budget = None if search.deadline is None else max(0.0, search.deadline - time.monotonic())
                played = search.game.board.move_number - 1  # plies since the game's first move
                request = ThinkRequest(search.game, nodes, int(self.options["MultiPV"]), search.should_stop,
                                       lambda report: self._progress(search, report), budget,
                                       sample=played < int(self.options["RandomOpeningPly"]))
                search.report = self.thinker.think(request)
        except Exception as exc:  # noqa: BLE001 - a broken search must still answer the go
            search.error = f"search failed: {type(exc).__name__}: {exc}"
            self.log(search.error)
        finally:
            search.done.set()
            self._events.put(("done", search))

    @staticmethod
    def _mate_time_left(search: _Search) -> Callable[[], float | None]:
        """The root df-pn may use a tenth of the thinking time; read when each df-pn chunk starts (a ponderhit
        sets the deadline during a ponder)."""

        def left() -> float | None:
            if search.deadline is None:
                return None
            return search.started + 0.1 * (search.deadline - search.started) - time.monotonic()

        return left

    def _mate_job(self, search: _Search) -> None:
        try:
            if search.game is None:  # the last position was refused: nothing was searched, nothing is proved
                search.error = f"go mate: no position to search ({self.position_error or 'none given'})"
                search.mate = MateResult("timeout")
            elif search.game.result is not None:
                search.mate = MateResult("nomate")
            else:
                nodes = search.limits.mate_nodes
                search.mate = (self._mate.search(search.game, search.should_stop, nodes) if nodes
                               else self._mate.search(search.game, search.should_stop))
        except Exception as exc:  # noqa: BLE001 - the go mate must still be answered
            search.error = f"mate search failed: {exc}"
            search.mate = MateResult("timeout")
        finally:
            search.done.set()
            self._events.put(("done", search))

    def _progress(self, search: _Search, report: ThinkReport) -> None:
        """Worker thread: interim ``info`` lines."""
        if search.answered or not report.lines:
            return
        if search.limits.depth is not None and report.depth >= max(1, search.limits.depth):
            search.stop.set()  # `go depth N`: the principal variation is N plies deep
        search.latest = report
        self._say_report(search, report)

    def _heartbeat(self) -> None:
        search = self._search
        if search is None or search.answered or search.done.is_set():
            return
        now = time.monotonic()
        if now - search.last_info >= HEARTBEAT_S and now - search.started >= HEARTBEAT_S:
            if search.latest is not None:
                self._say_report(search, search.latest)
            else:
                search.last_info = now
                elapsed = int((now - search.started) * 1000)
                self.say(f"info depth 0 nodes 0 time {elapsed}")

    def _say_report(self, search: _Search, report: ThinkReport) -> None:
        now = time.monotonic()
        search.last_info = now
        elapsed = max(1, int((now - search.started) * 1000))
        nps = (report.nodes if report.searched is None else report.searched) * 1000 // elapsed
        multipv = len(report.lines) > 1 or int(self.options["MultiPV"]) > 1
        for i, line in enumerate(report.lines, 1):
            score = f"mate {line.mate}" if line.mate is not None else f"cp {value_to_cp(line.value)}"
            pv = " ".join(line.pv or (line.move,))
            tag = f" multipv {i}" if multipv else ""
            self.say(
                f"info depth {max(1, report.depth)} seldepth {max(1, report.seldepth, report.depth)}"
                f"{tag} score {score} nodes {report.nodes} nps {nps} time {elapsed} pv {pv}"
            )

    def _search_done(self, search: _Search) -> None:
        if search is not self._search or search.answered:
            return
        if search.report is not None and search.report.lines and not search.limits.is_mate:
            self._say_report(search, search.report)  # the final info, also while holding for stop
            search.reported = True
        if not search.hold:
            self._answer(search)

    def _answer(self, search: _Search) -> None:
        """The one ``bestmove`` (or ``checkmate``) of ``search``."""
        if search.answered:
            return
        search.answered = True
        if search is self._search:
            self._search = None
        if search.error:
            self.info_string(search.error)
        if search.limits.is_mate:
            mate = search.mate or MateResult("timeout")
            self.say("checkmate " + (" ".join(mate.pv) if mate.status == "checkmate" else mate.status))
            return
        if search.special is not None:
            self.say(f"bestmove {search.special}")
            return
        report = search.report
        if report is None or not report.lines:
            self.say(f"bestmove {self._fallback_move(search.game)}")
            return
        if not search.reported:
            self._say_report(search, report)
        best = report.best
        resign_cp = int(self.options["ResignValue"])
        losing = best.mate is not None and best.mate < 0
        if resign_cp > 0 and (losing or (best.mate is None and value_to_cp(best.value) <= -resign_cp)):
            self.say("bestmove resign")
            return
        ponder = ""
        if self.options["USI_Ponder"] and len(best.pv) >= 2:
            ponder = f" ponder {best.pv[1]}"
        self.say(f"bestmove {best.move}{ponder}")

    @staticmethod
    def _fallback_move(game: Game | None) -> str:
        """A legal move when the search produced nothing (an error): the first legal move, or resign."""
        moves = game.legal_moves() if game is not None else []
        return moves[0] if moves else "resign"

    def _finish_search(self) -> None:
        """Stop a running search, wait for it and send its answer (a command needs the engine idle)."""
        search = self._search
        if search is None:
            return
        search.hold = False
        search.stop.set()
        search.done.wait()
        self._answer(search)

    def _shutdown(self) -> None:
        search = self._search
        if search is not None:
            search.stop.set()
            search.done.wait(timeout=2.0)
        self._jobs.put(None)
        if self._worker is not None:
            self._worker.join(timeout=2.0)
        self._mate.close()
        if self.thinker is not None:
            with contextlib.suppress(Exception):
                self.thinker.close()
            self.thinker = None


_COMMANDS: dict[str, Callable[[UsiServer, str, list[str]], None]] = {
    "usi": UsiServer._usi,
    "isready": UsiServer._isready,
    "setoption": UsiServer._setoption,
    "usinewgame": UsiServer._usinewgame,
    "position": UsiServer._position,
    "go": UsiServer._go,
    "stop": UsiServer._stop,
    "ponderhit": UsiServer._ponderhit,
    "gameover": UsiServer._gameover,
    "quit": UsiServer._quit,
    "debug": UsiServer._ignore,
    "register": UsiServer._ignore,
}
