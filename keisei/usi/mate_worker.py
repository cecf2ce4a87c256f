"""The child process of ``keisei.usi.mate.MateProcess``: one df-pn search per request line, run to its end.

Run as a file (``python .../mate_worker.py``), so it imports cshogi and nothing of Keisei. A request is
``<max_nodes> <max_depth> <start sfen (4 fields)> [moves <usi>...]``; the answer is one line,
``checkmate <usi>...`` (df-pn's line, unchecked: the parent checks it), ``nomate`` (disproved within the node
limit) or ``timeout`` (node limit reached). The parent kills this process to stop a search.
"""

import os
import signal
import sys

import cshogi

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Linux: be killed when the engine ends, even mid-search (a df-pn search may otherwise run for hours)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the search still ends when the engine closes our stdin and kills us
    if os.getppid() != parent:
        sys.exit(0)


def answer(request: str) -> str:
    words = request.split()
    max_nodes, max_depth = int(words[0]), int(words[1])
    board = cshogi.Board(" ".join(words[2:6]))
    if len(words) > 6:
        for usi in words[7:]:
            board.push_usi(usi)
    dfpn = cshogi.DfPn(depth=max_depth, nodes=max_nodes)
    if dfpn.search(board):
        return " ".join(["checkmate", *(cshogi.move_to_usi(m) for m in dfpn.get_pv(board))])
    return "nomate" if dfpn.searched_node < max_nodes else "timeout"


def main() -> None:
    if len(sys.argv) > 1:
        die_with_parent(int(sys.argv[1]))
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(answer(line) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
