"""OpponentPool: joins via the CheckpointManager listener, bounds, sampling modes, persistence."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from pathlib import Path

import pytest
import torch

from keisei.config import ModelConfig
from keisei.evaluation.pool import OpponentPool, parse_pool_spec
from keisei.models import build_model
from keisei.run.checkpoints import CheckpointManager

ARCH = ModelConfig(name="resnet", blocks=1, channels=16, value_hidden=16).model_dump(mode="json")


@pytest.fixture(scope="module")
def state() -> dict:
    torch.manual_seed(0)
    return build_model(ARCH).state_dict()


def payload(state: dict, timesteps: int) -> dict:
    return {"model_name": "resnet", "model_arch": dict(ARCH), "model_state": state,
            "model_version": timesteps // 100, "counters": {"timesteps": timesteps, "updates": 1, "games": 0}}


def names(pool: OpponentPool) -> list[str]:
    return [e.name for e in pool.entries()]


def fill(run_dir: Path, state: dict, pool: OpponentPool, steps: list[int], keep_last: int = 2) -> CheckpointManager:
    cm = CheckpointManager(run_dir, keep_last=keep_last)
    cm.add_listener(pool.add_checkpoint)
    for t in steps:
        cm.save(payload(state, t), t)
    return cm


def test_parse_pool_spec():
    assert parse_pool_spec("pool") == 1
    assert parse_pool_spec("pool:3") == 3
    assert parse_pool_spec("greedy") is None
    with pytest.raises(ValueError, match="pool:K"):
        parse_pool_spec("pool:x")


def test_saved_checkpoints_join_and_survive_checkpoint_pruning(tmp_path, state):
    pool = OpponentPool(tmp_path, size=3, keep_best=0)
    cm = fill(tmp_path, state, pool, [100, 200, 300, 400, 500], keep_last=2)
    assert len(cm.checkpoints()) == 2  # the manager pruned its own files ...
    assert names(pool) == ["ckpt:ckpt_300", "ckpt:ckpt_400", "ckpt:ckpt_500"]
    for entry in pool.entries():  # ... but pool members keep theirs
        path = Path(entry.spec.removeprefix("checkpoint:"))
        assert path.is_file() and path.parent.name == "opponent_pool"
        assert entry.timesteps == int(path.stem.split("_")[1])
    assert sorted(p.name for p in pool.files_dir.iterdir()) == ["ckpt_300.pt", "ckpt_400.pt", "ckpt_500.pt"]


def test_bounds_keep_recent_best_and_anchors(tmp_path, state):
    pool = OpponentPool(tmp_path, size=2, keep_best=1, anchors=["random"])
    fill(tmp_path, state, pool, [100, 200])
    assert pool.set_rating("ckpt:ckpt_100", 300.0)
    assert not pool.set_rating("ckpt:nope", 1.0)
    pool.set_ratings({"ckpt:ckpt_200": 100.0})
    fill(tmp_path, state, pool, [300, 400, 500])
    # 100 is the best rated (kept), 400/500 the most recent, random the anchor; 200 and 300 dropped
    assert set(names(pool)) == {"random", "ckpt:ckpt_100", "ckpt:ckpt_400", "ckpt:ckpt_500"}
    assert not (pool.files_dir / "ckpt_200.pt").exists()
    assert pool.entries()[0].kind == "anchor"


def test_persistence_across_restart_and_missing_files(tmp_path, state, caplog):
    pool = OpponentPool(tmp_path, size=5, keep_best=1, anchors=["greedy"])
    fill(tmp_path, state, pool, [100, 200, 300])
    pool.set_rating("ckpt:ckpt_200", 42.0)
    data = json.loads((tmp_path / "opponent_pool.json").read_text())
    assert len(data["entries"]) == 4 and not list(tmp_path.glob(".*.tmp"))

    again = OpponentPool(tmp_path, size=5, keep_best=1, anchors=["greedy"])
    assert names(again) == names(pool)
    assert {e.name: e.elo for e in again.entries()}["ckpt:ckpt_200"] == 42.0

    (again.files_dir / "ckpt_100.pt").unlink()
    with caplog.at_level(logging.WARNING, logger="keisei.evaluation.pool"):
        third = OpponentPool(tmp_path, size=5, keep_best=1)
    assert "ckpt:ckpt_100" not in names(third)
    assert any("missing" in r.getMessage() and "ckpt_100" in r.getMessage() for r in caplog.records)
    saved = json.loads((tmp_path / "opponent_pool.json").read_text())
    assert "ckpt:ckpt_100" not in [e["name"] for e in saved["entries"]]
    fill(tmp_path, state, third, [400])  # sequence numbers continue after the restart
    assert names(third)[-1] == "ckpt:ckpt_400"


def test_corrupt_pool_file_is_a_clear_error(tmp_path):
    (tmp_path / "opponent_pool.json").write_text("{not json")
    with pytest.raises(ValueError, match="opponent_pool.json"):
        OpponentPool(tmp_path)


def test_sampling_modes(tmp_path, state):
    pool = OpponentPool(tmp_path, size=10, keep_best=0)
    fill(tmp_path, state, pool, [100, 200, 300, 400])
    pool.set_ratings({"ckpt:ckpt_100": 0.0, "ckpt:ckpt_200": 400.0, "ckpt:ckpt_300": 800.0, "ckpt:ckpt_400": 1200.0})
    rng = random.Random(0)

    picked = pool.sample(3, rng, sampling="uniform")
    assert len(picked) == 3 and len(set(picked)) == 3
    assert len(pool.sample(10, rng)) == 4  # never more than the pool holds
    assert all("ckpt_400" not in s for s in pool.sample(3, rng, exclude=["ckpt:ckpt_400"]))

    def counts(**kw) -> Counter:
        return Counter(Path(pool.sample(1, rng, **kw)[0]).stem for _ in range(400))

    recent = counts(sampling="recent")
    assert recent["ckpt_400"] > recent["ckpt_300"] > recent["ckpt_100"]
    matched = counts(sampling="rating", agent_elo=800.0)
    assert matched.most_common(1)[0][0] == "ckpt_300"
    assert matched["ckpt_300"] > 2 * matched["ckpt_100"]
    uniform = counts(sampling="uniform")
    assert min(uniform.values()) > 60
    with pytest.raises(ValueError, match="sampling"):
        pool.sample(1, rng, sampling="best")


def test_checkpoint_rated_through_its_agent_name(tmp_path, state):
    pool = OpponentPool(tmp_path, size=5, keep_best=1)
    fill(tmp_path, state, pool, [100, 200])  # model_version = timesteps // 100
    assert pool.set_ratings({"agent@v2": 77.0, "agent@v9": 1.0}) == 1
    assert {e.name: e.elo for e in pool.entries()} == {"ckpt:ckpt_100": None, "ckpt:ckpt_200": 77.0}
    pool.set_ratings({"ckpt:ckpt_200": 80.0, "agent@v2": 77.0})  # its own name wins
    assert {e.name: e.elo for e in pool.entries()}["ckpt:ckpt_200"] == 80.0
