"""A search tree in preallocated numpy arrays: one row per node, the children of a node in one contiguous block.

No Python object per node. Values are stored from the point of view of the player who moved *into* the node
(so a parent picks the child with the largest ``W / N``); ``tval`` (terminal value) and ``raw`` (network
value) are from the point of view of the side to move *at* the node.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EXPANDED", "PENDING", "TERMINAL", "UNEXPANDED", "Tree"]

UNEXPANDED, EXPANDED, TERMINAL, PENDING = 0, 1, 2, 3

_FIELDS = (
    ("N", np.int32),  # visits (virtual losses included while a descent is in flight)
    ("W", np.float64),  # value sum, mover-into-node view (a virtual loss counts -1)
    ("Q", np.float64),  # W / N; before the first visit the parent's first-play-urgency value
    ("P", np.float32),  # prior probability (as a child of its parent)
    ("move", np.int32),  # cshogi move from the parent
    ("first", np.int32),  # first child row (EXPANDED only)
    ("nch", np.int32),  # number of children (EXPANDED only)
    ("state", np.int8),  # UNEXPANDED / EXPANDED / TERMINAL / PENDING
    ("tval", np.float32),  # TERMINAL: value for the side to move at the node
    ("mdist", np.int8),  # TERMINAL: plies to the mate it was proved by (0 = checkmated here), -1 = not a mate
    ("raw", np.float32),  # EXPANDED: the evaluator's value, side to move's view
)


class Tree:
    """Node rows 0..size-1; row 0 is the root. Grows by doubling up to ``max_nodes`` rows."""

    def __init__(self, max_nodes: int, capacity: int = 1024) -> None:
        self.max_nodes = max_nodes
        self.capacity = max(2, min(capacity, max_nodes))
        self.size = 0
        for name, dtype in _FIELDS:
            setattr(self, name, np.zeros(self.capacity, dtype=dtype))
        self.alloc(1)

    def alloc(self, n: int) -> int:
        """Rows for ``n`` new nodes (zero, UNEXPANDED: rows past ``size`` are never written before this);
        -1 when the tree would exceed ``max_nodes``."""
        start, end = self.size, self.size + n
        if end > self.max_nodes:
            return -1
        if end > self.capacity:
            cap = self.capacity
            while cap < end:
                cap *= 2
            self._grow(min(cap, self.max_nodes))
        self.size = end
        return start

    def _grow(self, capacity: int) -> None:
        for name, dtype in _FIELDS:
            new = np.zeros(capacity, dtype=dtype)
            new[: self.size] = getattr(self, name)[: self.size]
            setattr(self, name, new)
        self.capacity = capacity

    def children(self, node: int) -> slice:
        start = int(self.first[node])
        return slice(start, start + int(self.nch[node]))

    def subtree(self, node: int) -> Tree:
        """A compact copy of the subtree rooted at ``node`` (the new row 0); everything else is dropped."""
        new = Tree(self.max_nodes, capacity=max(1024, self.size // 2))
        for name, _ in _FIELDS:
            getattr(new, name)[0] = getattr(self, name)[node]
        stack = [(node, 0)]
        while stack:
            old, row = stack.pop()
            if self.state[old] != EXPANDED:
                continue
            s, k = int(self.first[old]), int(self.nch[old])
            start = new.alloc(k)
            for name, _ in _FIELDS:
                getattr(new, name)[start : start + k] = getattr(self, name)[s : s + k]
            new.first[row] = start
            expanded = np.flatnonzero(self.state[s : s + k] == EXPANDED).tolist()
            stack.extend((s + j, start + j) for j in expanded)
        return new
