"""Gumbel root selection (Danihelka et al. 2022, "Policy improvement by planning with Gumbel"), as in mctx.

Pure numpy over one root's children: the sequential-halving visit schedule, the completed Q-values
(``qtransform_completed_by_mix_value``: unvisited children get the mixed value, then min-max rescaling and the
``(maxvisit_init + max N) * value_scale`` scale) and the improved policy ``softmax(logits + sigma(completed Q))``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["completed_q", "considered_visits", "improved_policy", "score_considered"]


def considered_visits(max_considered: int, simulations: int) -> np.ndarray:
    """The visit count each simulation's root action must have (mctx ``get_sequence_of_considered_visits``)."""
    if max_considered <= 1:
        return np.arange(simulations, dtype=np.int64)
    log2max = math.ceil(math.log2(max_considered))
    sequence: list[int] = []
    visits = [0] * max_considered
    considered = max_considered
    while len(sequence) < simulations:
        extra = max(1, int(simulations / (log2max * considered)))
        for _ in range(extra):
            sequence.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return np.array(sequence[:simulations], dtype=np.int64)


def completed_q(
    q: np.ndarray, visits: np.ndarray, prior: np.ndarray, raw_value: float, value_scale: float,
    maxvisit_init: float,
) -> np.ndarray:
    """sigma(completed Q) for every child: visited children keep their Q (root's view), unvisited ones get the
    mixed value of ``raw_value`` and the prior-weighted visited Q; rescaled to [0, 1] then scaled."""
    visited = visits > 0
    total = float(visits.sum())
    prior = np.maximum(prior, np.finfo(np.float64).tiny)
    if visited.any():
        weighted = float((prior[visited] * q[visited]).sum() / prior[visited].sum())
    else:
        weighted = 0.0
    mixed = (raw_value + total * weighted) / (total + 1.0)
    completed = np.where(visited, q, mixed)
    low, high = completed.min(), completed.max()
    completed = (completed - low) / max(high - low, 1e-8)
    return (maxvisit_init + float(visits.max(initial=0))) * value_scale * completed


def improved_policy(logits: np.ndarray, sigma_q: np.ndarray) -> np.ndarray:
    """softmax(logits + sigma(completed Q)): the policy-improvement target over the children."""
    z = logits + sigma_q
    z = np.exp(z - z.max())
    return z / z.sum()


def score_considered(
    considered_visit: int, gumbel: np.ndarray, logits: np.ndarray, sigma_q: np.ndarray, visits: np.ndarray
) -> np.ndarray:
    """g + logits + sigma(Q) for the children with exactly ``considered_visit`` visits, -inf elsewhere."""
    score = np.maximum(-1e9, gumbel + (logits - logits.max()) + sigma_q)
    return np.where(visits == considered_visit, score, -np.inf)
