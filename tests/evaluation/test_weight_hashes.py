"""The evaluated weights' version and sha256 in the result, the store's game and rating rows, old stores upgraded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eval_helpers import tiny_config, tiny_model, write_checkpoint

from keisei.evaluation import EvaluationManager
from keisei.evaluation.store import GameStore
from keisei.weights import ModelWeightManager, tensors_sha256


def test_a_snapshot_evaluation_records_its_version_and_hash_everywhere(tmp_path: Path) -> None:
    weights = ModelWeightManager()
    snapshot = weights.snapshot(tiny_model(3), 5, 640, "resnet", {"name": "resnet", **tiny_config().model.model_dump()})
    manager = EvaluationManager(tiny_config(num_games=2, max_plies=16), run_dir=tmp_path, weight_manager=weights)
    result = manager.evaluate_current_agent(snapshot)
    assert (result.model_version, result.sha256) == (5, snapshot.sha256)
    assert result.to_json()["sha256"] == snapshot.sha256
    with GameStore(manager.store_path) as store:
        rows = store.games()
    assert len(rows) == 2
    for row in rows:
        colour = "black" if row.black == "agent@v5" else "white"
        assert getattr(row, f"{colour}_version") == 5 and row.extra[f"{colour}_sha256"] == snapshot.sha256
        other = "white" if colour == "black" else "black"
        assert f"{other}_sha256" not in row.extra  # random has no weights


def test_a_checkpoint_evaluation_records_the_checkpoint_weights_hash(tmp_path: Path) -> None:
    model = tiny_model(4)
    path = write_checkpoint(tmp_path / "ckpt_1234.pt", model)
    result = EvaluationManager(tiny_config(num_games=2, max_plies=16)).evaluate_checkpoint(path)
    assert result.sha256 == tensors_sha256(model.state_dict())


def test_ratings_carry_version_and_hash_and_an_older_store_gains_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "evaluation.sqlite"
    with sqlite3.connect(path) as conn:  # the ratings table as Keisei wrote it before version/hash columns
        conn.execute("CREATE TABLE ratings (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp REAL NOT NULL, "
                     "player TEXT NOT NULL, timestep INTEGER NOT NULL, elo REAL NOT NULL, low REAL, high REAL)")
        conn.execute("INSERT INTO ratings (timestamp, player, timestep, elo) VALUES (1.0, 'agent@v1', 10, 5.0)")
    with GameStore(path) as store:
        store.record_rating("agent@v2", 20, 7.0, model_version=2, sha256="ab" * 32)
        old, new = store.rating_history("agent@v")
    assert (old.model_version, old.sha256) == (None, None) and old.elo == 5.0
    assert (new.model_version, new.sha256, new.timestep) == (2, "ab" * 32, 20)
