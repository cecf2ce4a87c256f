"""Write tests/search/fixtures/mctx_gumbel.json from mctx (the reference Gumbel MuZero implementation).

Run in its own environment (JAX is not a Keisei dependency; the tests read the JSON and need no JAX):

    python3 -m venv /tmp/mctxenv && /tmp/mctxenv/bin/pip install mctx jax jaxlib
    /tmp/mctxenv/bin/python scripts/mctx_fixtures.py

Each case runs ``mctx.gumbel_muzero_policy`` on a small deterministic two-player environment (discount -1:
values alternate sides) and records the root's statistics after the search (prior logits, raw value,
Q-values from the root's view, child visits, the Gumbel noise drawn) with mctx's answers: the completed
Q-values (``qtransform_completed_by_mix_value``), ``action_weights`` (the improved policy) and the chosen
action. It also records ``get_sequence_of_considered_visits`` for several (m, n).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import mctx
import numpy as np
from mctx._src import seq_halving

PRIME = 1_000_003


def make_env(num_actions: int, seed: int):
    def logits_of(state):
        keys = jax.vmap(lambda s: jax.random.fold_in(jax.random.PRNGKey(seed), s))(state)
        return jax.vmap(lambda k: 2.0 * jax.random.normal(k, (num_actions,)))(keys)

    def value_of(state):
        return jnp.sin(state.astype(jnp.float32) * 0.7311 + seed)

    def recurrent_fn(params, rng_key, action, embedding):
        nxt = (embedding * 31 + action + 1) % PRIME
        out = mctx.RecurrentFnOutput(reward=jnp.zeros_like(nxt, jnp.float32),
                                     discount=-jnp.ones_like(nxt, jnp.float32),
                                     prior_logits=logits_of(nxt), value=value_of(nxt))
        return out, nxt

    return logits_of, value_of, recurrent_fn


def case(num_actions: int, sims: int, m: int, value_scale: float, maxvisit_init: float, seed: int) -> dict:
    logits_of, value_of, recurrent_fn = make_env(num_actions, seed)
    root_state = jnp.array([seed + 1], dtype=jnp.int32)
    root = mctx.RootFnOutput(prior_logits=logits_of(root_state), value=value_of(root_state), embedding=root_state)

    def qtransform(tree, node_index):
        return mctx.qtransform_completed_by_mix_value(tree, node_index, value_scale=value_scale,
                                                      maxvisit_init=maxvisit_init)

    out = mctx.gumbel_muzero_policy(params=(), rng_key=jax.random.PRNGKey(seed), root=root,
                                    recurrent_fn=recurrent_fn, num_simulations=sims,
                                    max_num_considered_actions=m, qtransform=qtransform)
    tree = out.search_tree
    completed = jax.vmap(qtransform, in_axes=[0, None])(tree, tree.ROOT_INDEX)
    return {
        "num_actions": num_actions, "simulations": sims, "considered": m, "value_scale": value_scale,
        "maxvisit_init": maxvisit_init, "seed": seed,
        "prior_logits": np.asarray(tree.children_prior_logits[0, 0]).tolist(),
        "raw_value": float(tree.raw_values[0, 0]),
        "qvalues": np.asarray(tree.qvalues(jnp.zeros(1, jnp.int32))[0]).tolist(),
        "visits": np.asarray(tree.children_visits[0, 0]).tolist(),
        "gumbel": np.asarray(tree.extra_data.root_gumbel[0]).tolist(),
        "completed_q": np.asarray(completed[0]).tolist(),
        "action_weights": np.asarray(out.action_weights[0]).tolist(),
        "action": int(out.action[0]),
    }


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "tests/search/fixtures/mctx_gumbel.json"
    jax.config.update("jax_enable_x64", False)
    cases = []
    seed = 0
    for num_actions in (3, 8, 40):
        for sims in (2, 8, 16, 32, 64):
            for m in (4, 16):
                for value_scale in (0.1, 1.0):
                    seed += 1
                    cases.append(case(num_actions, sims, m, value_scale, 50.0, seed))
    schedules = [{"considered": m, "simulations": n,
                  "sequence": [int(v) for v in seq_halving.get_sequence_of_considered_visits(m, n)]}
                 for m in (1, 2, 3, 4, 8, 16, 32) for n in (1, 2, 7, 16, 32, 64, 200)]
    data = {"mctx_version": mctx.__version__, "jax_version": jax.__version__, "cases": cases, "schedules": schedules}
    out.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")
    print(f"{out}: {len(cases)} search cases, {len(schedules)} schedules (mctx {mctx.__version__})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
