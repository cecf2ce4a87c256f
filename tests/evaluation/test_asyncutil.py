"""run_sync works from plain code, from inside a running loop, and from a worker thread."""

import asyncio
import threading

import pytest

from keisei.evaluation.asyncutil import in_running_loop, run_sync


async def _where() -> tuple[str, bool]:
    await asyncio.sleep(0)
    return threading.current_thread().name, in_running_loop()


async def _boom() -> None:
    raise KeyError("boom")


def test_plain_sync_runs_on_this_thread():
    name, in_loop = run_sync(_where)
    assert name == threading.current_thread().name and in_loop


def test_inside_a_running_loop_uses_a_worker_thread():
    async def main():
        assert in_running_loop()
        return run_sync(_where)

    name, in_loop = asyncio.run(main())
    assert name != threading.current_thread().name and in_loop


def test_from_a_worker_thread():
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("r", run_sync(_where)), name="worker-x")
    thread.start()
    thread.join()
    assert out["r"] == ("worker-x", True)


def test_errors_propagate_in_every_context():
    with pytest.raises(KeyError, match="boom"):
        run_sync(_boom)

    async def main():
        run_sync(_boom)

    with pytest.raises(KeyError, match="boom"):
        asyncio.run(main())
