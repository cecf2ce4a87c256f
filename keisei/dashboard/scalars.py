"""A run's TensorBoard scalars, read incrementally from its event files (what `keisei train` already writes).

Event files are TFRecord streams (length, CRC, an ``Event`` protobuf, CRC) that only grow. ``ScalarReader``
remembers how far it read each file and parses only what was appended since, so a live run costs a
``stat`` per file per refresh. A record still being written (incomplete at the end) is read next time.
"""

from __future__ import annotations

import struct
import threading
from pathlib import Path
from typing import Any

EVENT_GLOB = "events.out.tfevents.*"
MAX_POINTS = 2000  # per series in one response (evenly thinned; the newest point is always kept)


class ScalarReader:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.offsets: dict[str, int] = {}
        #: tag -> [(step, wall_time, value)] in file order
        self.series: dict[str, list[tuple[int, float, float]]] = {}
        self.version = 0  # bumps when points were added
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Read what was appended to the event files since the last call; -> points added."""
        from tensorboard.compat.proto import event_pb2

        added = 0
        with self._lock:
            try:
                files = sorted(self.run_dir.glob(EVENT_GLOB))
            except OSError:
                return 0
            for path in files:
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                start = self.offsets.get(path.name, 0)
                if size <= start:
                    continue
                try:
                    with path.open("rb") as fh:
                        fh.seek(start)
                        data = fh.read(size - start)
                except OSError:
                    continue
                pos = 0
                while pos + 12 <= len(data):
                    (length,) = struct.unpack_from("<Q", data, pos)
                    end = pos + 12 + length + 4
                    if end > len(data):
                        break  # a record still being written
                    event = event_pb2.Event()
                    try:
                        event.ParseFromString(data[pos + 12: pos + 12 + length])
                    except Exception:  # noqa: BLE001 - a damaged record: skip it, keep reading
                        pos = end
                        continue
                    pos = end
                    if not event.HasField("summary"):
                        continue
                    for value in event.summary.value:
                        if value.HasField("simple_value"):
                            self.series.setdefault(value.tag, []).append(
                                (int(event.step), float(event.wall_time), float(value.simple_value)))
                            added += 1
                self.offsets[path.name] = start + pos
            if added:
                self.version += 1
        return added

    def tags(self) -> list[str]:
        with self._lock:
            return sorted(self.series)

    def get(self, tags: list[str] | None = None, since_step: int | None = None,
            max_points: int = MAX_POINTS) -> dict[str, dict[str, list[Any]]]:
        """``{tag: {"step": [...], "wall": [...], "value": [...]}}`` (steps after ``since_step`` only, when given)."""
        out: dict[str, dict[str, list[Any]]] = {}
        with self._lock:
            for tag in tags if tags is not None else sorted(self.series):
                points = self.series.get(tag, [])
                if since_step is not None:
                    points = [p for p in points if p[0] > since_step]
                if len(points) > max_points:
                    stride = len(points) / max_points
                    points = [points[int(i * stride)] for i in range(max_points - 1)] + [points[-1]]
                out[tag] = {"step": [p[0] for p in points], "wall": [round(p[1], 3) for p in points],
                            "value": [p[2] if p[2] == p[2] and abs(p[2]) != float("inf") else None for p in points]}
        return out
