"""Durations for people: ``ETA 15 h 04 min``, ``ETA 3 min 20 s`` - never something that reads like a clock time.

Shared by the training display and ``keisei evaluate``'s progress lines (torch-free, no imports from Keisei).
"""

from __future__ import annotations

import math

__all__ = ["eta_text", "format_duration"]


def format_duration(seconds: float | None) -> str:
    """``seconds`` as the two largest units: ``2 d 03 h``, ``15 h 04 min``, ``3 min 20 s``, ``45 s``.

    Rounded down to whole seconds; ``?`` when unknown (None, negative infinity, NaN); negatives count as 0.
    """
    if seconds is None or not math.isfinite(seconds):
        return "?"
    total = int(max(seconds, 0.0))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours:02d} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def eta_text(done: float, total: float, elapsed_s: float) -> str:
    """The time left at the average rate so far (``?`` before anything is done); ``0 s`` once done."""
    if done >= total:
        return format_duration(0.0)
    if done <= 0 or elapsed_s <= 0:
        return "?"
    return format_duration(elapsed_s * (total - done) / done)
