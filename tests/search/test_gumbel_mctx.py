"""keisei.search.gumbel against mctx, the reference implementation (fixtures written by scripts/mctx_fixtures.py
in its own JAX environment; these tests need no JAX): the sequential-halving schedule, the completed Q-values,
the improved policy (mctx's ``action_weights``) and the chosen root action, on searches mctx ran itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from keisei.search import gumbel as gz

DATA = json.loads((Path(__file__).parent / "fixtures" / "mctx_gumbel.json").read_text(encoding="utf-8"))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


@pytest.mark.parametrize("sched", DATA["schedules"], ids=lambda s: f"m{s['considered']}-n{s['simulations']}")
def test_sequential_halving_schedule_equals_mctx(sched):
    ours = gz.considered_visits(sched["considered"], sched["simulations"]).tolist()
    assert ours == sched["sequence"]


def _case_id(c: dict) -> str:
    return f"A{c['num_actions']}-n{c['simulations']}-m{c['considered']}-vs{c['value_scale']}"


@pytest.mark.parametrize("case", DATA["cases"], ids=_case_id)
def test_completed_q_improved_policy_and_action_equal_mctx(case):
    logits = np.array(case["prior_logits"], dtype=np.float64)
    q = np.array(case["qvalues"], dtype=np.float64)
    visits = np.array(case["visits"], dtype=np.int64)
    assert visits.sum() == case["simulations"]  # the case really searched
    sigma = gz.completed_q(q, visits, _softmax(logits), case["raw_value"], case["value_scale"],
                           case["maxvisit_init"])
    np.testing.assert_allclose(sigma, case["completed_q"], rtol=1e-4, atol=1e-4)
    policy = gz.improved_policy(logits, sigma)
    np.testing.assert_allclose(policy, case["action_weights"], rtol=1e-4, atol=1e-6)
    gumbel = np.array(case["gumbel"], dtype=np.float64)
    action = int(gz.score_considered(int(visits.max()), gumbel, logits, sigma, visits).argmax())
    assert action == case["action"]


def test_the_fixtures_cover_unvisited_children_and_both_scales():
    unvisited = [c for c in DATA["cases"] if min(c["visits"]) == 0]
    assert len(unvisited) >= 10  # the mixed value of unvisited children is exercised
    assert {c["value_scale"] for c in DATA["cases"]} == {0.1, 1.0}
    # the improved policy is not just the prior: the search moved it
    moved = [c for c in DATA["cases"]
             if np.abs(np.array(c["action_weights"]) - _softmax(np.array(c["prior_logits"]))).max() > 0.05]
    assert len(moved) >= 10
