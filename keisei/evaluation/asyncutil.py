"""Run an evaluation coroutine from synchronous code, whatever the calling context.

Three contexts are supported:

* plain synchronous code (no event loop on this thread): ``asyncio.run`` on this thread;
* inside a running event loop (an async application, a Jupyter cell, a callback invoked from async code):
  the coroutine runs on a dedicated worker thread with its own loop, and the caller blocks until it is done
  (``asyncio.run`` is never called on a thread whose loop is running);
* a worker thread: like plain code, that thread has no running loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def in_running_loop() -> bool:
    """True when this thread currently runs an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_sync(make_coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine made by ``make_coro`` to completion and return its result (or raise its error).

    ``make_coro`` is called on the thread that runs the coroutine, so no coroutine object is ever created
    on one thread and abandoned there.
    """
    if not in_running_loop():
        return asyncio.run(make_coro())
    name = f"keisei-eval-{threading.get_ident()}"
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as pool:
        return pool.submit(lambda: asyncio.run(make_coro())).result()
