"""A small fake USI engine for fault tests: plays legal moves (cshogi) until told to misbehave.

Configured by ``setoption`` (so one script covers every fault):

* ``Fault``: ``none`` | ``crash`` (exit 3 after writing to stderr) | ``hang`` (ignore everything, even
  ``stop`` and ``quit``) | ``illegal`` (a well-formed illegal move) | ``malformed`` (``bestmove`` + junk)
  | ``resign`` | ``win`` (an entering-king declaration, invalid in any ordinary position);
* ``FaultAt``: the ``go`` number (1-based, counted over the process life) that misbehaves;
* ``Once``: a marker file; the fault happens only if it does not exist yet, and creates it;
* ``IgnoreTerm``: ``true`` to ignore SIGTERM (so only SIGKILL ends it);
* ``IgnoreQuit``: ``true`` to hang on ``quit`` instead of exiting.

The env var ``FAKE_USI_STARTUP`` = ``silent`` (never answers ``usi``) or ``crash`` (exits at once) breaks
the handshake instead.
"""

import os
import random
import signal
import sys
import time

import cshogi

OPTIONS = {"Fault": "none", "FaultAt": "1", "Once": "", "IgnoreTerm": "false", "IgnoreQuit": "false"}


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def hang() -> None:
    while True:
        time.sleep(3600)


def fault_now(go_count: int) -> str:
    """The fault to commit on this ``go`` ('none' when it should play well)."""
    fault = OPTIONS["Fault"]
    if fault == "none" or go_count != int(OPTIONS["FaultAt"]):
        return "none"
    marker = OPTIONS["Once"]
    if marker:
        if os.path.exists(marker):
            return "none"
        open(marker, "w").close()
    return fault


def best_move(board: cshogi.Board, go_count: int) -> str:
    legal = sorted(cshogi.move_to_usi(m) for m in board.legal_moves)
    return random.Random(go_count).choice(legal) if legal else "resign"


def illegal_move(board: cshogi.Board) -> str:
    legal = {cshogi.move_to_usi(m) for m in board.legal_moves}
    return next(m for m in ("5e5d", "1a1b", "9i9a", "5i5h") if m not in legal)


def main() -> None:
    startup = os.environ.get("FAKE_USI_STARTUP", "")
    if startup == "crash":
        sys.stderr.write("fake engine: cannot start\n")
        sys.exit(2)
    board = cshogi.Board()
    go_count = 0
    for raw in sys.stdin:
        parts = raw.split()
        if not parts:
            continue
        cmd = parts[0]
        if cmd == "usi":
            if startup == "silent":
                hang()
            say("id name FakeUSI")
            say("id author keisei tests")
            for name, default in OPTIONS.items():
                say(f"option name {name} type string default {default}")
            say("usiok")
        elif cmd == "setoption":
            name, _, value = raw.strip()[len("setoption name "):].partition(" value ")
            OPTIONS[name] = value
            if name == "IgnoreTerm" and value == "true":
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif cmd == "isready":
            say("readyok")
        elif cmd == "position":
            board = cshogi.Board() if parts[1] == "startpos" else cshogi.Board(" ".join(parts[2:6]))
            if "moves" in parts:
                for move in parts[parts.index("moves") + 1:]:
                    board.push_usi(move)
        elif cmd == "go":
            go_count += 1
            fault = fault_now(go_count)
            say("info string thinking hard")
            if fault == "crash":
                sys.stderr.write("fake engine: segmentation fault (on purpose)\n")
                sys.stderr.flush()
                os._exit(3)
            elif fault == "hang":
                hang()
            elif fault == "illegal":
                say(f"bestmove {illegal_move(board)}")
            elif fault == "malformed":
                say("bestmove ??garbage??")
            elif fault in ("resign", "win"):
                say(f"bestmove {fault}")
            else:
                say(f"bestmove {best_move(board, go_count)}")
        elif cmd == "quit":
            if OPTIONS["IgnoreQuit"] == "true":
                hang()
            return


if __name__ == "__main__":
    main()
