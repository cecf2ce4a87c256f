"""The run's best network (issue 20, item 4): chosen by evaluation with its interval, never replaced by a
weaker later net, and what a run directory means to every command that takes a checkpoint."""

from __future__ import annotations

from eval_helpers import tiny_config, tiny_model

from keisei.checkpoint import load_checkpoint, load_model_from_checkpoint, save_checkpoint
from keisei.checkpoint_path import resolve_checkpoint_path
from keisei.evaluation.best import BestKeeper
from keisei.evaluation.manager import EvaluationManager
from keisei.weights import ModelWeightManager


def _snap(weights, version, seed=0):
    import torch

    torch.manual_seed(seed)
    return weights.snapshot(tiny_model(), version, version * 100, "resnet", tiny_config().model.model_dump())


def test_a_version_replaces_the_best_only_when_its_interval_clears_the_best(tmp_path):
    weights = ModelWeightManager()
    keeper = BestKeeper(tmp_path, tiny_config())
    assert keeper.best is None
    assert keeper.consider(_snap(weights, 1), 300.0, 200.0, 400.0, "scale s")  # the first one is the best
    best = tmp_path / "checkpoints" / "best.pt"
    assert load_checkpoint(best)["best"]["model_version"] == 1
    assert not keeper.consider(_snap(weights, 2), 350.0, 250.0, 450.0, "scale s")  # better, but within noise
    assert not keeper.consider(_snap(weights, 3), 100.0, 0.0, 200.0, "scale s")  # weaker: never
    assert keeper.consider(_snap(weights, 4, seed=4), 500.0, 320.0, 680.0, "scale s")  # clearly better
    payload = load_checkpoint(best)
    assert payload["model_version"] == 4 and payload["best"]["elo"] == 500.0 and payload["counters"]["timesteps"] == 400
    assert BestKeeper(tmp_path, tiny_config()).best["model_version"] == 4  # read back after a restart
    model, _ = load_model_from_checkpoint(best)
    assert model is not None


def test_a_run_directory_given_as_a_checkpoint_means_its_best_else_its_latest(tmp_path):
    weights = ModelWeightManager()
    run = tmp_path / "run"
    ckdir = run / "checkpoints"
    snap = _snap(weights, 7)
    save_checkpoint(ckdir / "ckpt_700.pt", {
        "model_name": "resnet", "model_arch": snap.model_arch, "model_state": snap.state_dict, "model_version": 7,
        "counters": {"timesteps": 700, "updates": 7, "games": 0}})
    (ckdir / "latest").write_text("ckpt_700.pt\n")
    assert resolve_checkpoint_path(run) == ckdir / "ckpt_700.pt"  # no best yet: the latest
    BestKeeper(run, tiny_config()).consider(_snap(weights, 5), 10.0, 0.0, 20.0, "scale s")
    assert resolve_checkpoint_path(run) == ckdir / "best.pt" == resolve_checkpoint_path(ckdir)
    result = EvaluationManager(tiny_config(num_games=2, max_plies=16)).evaluate_checkpoint(run, ["random"])
    assert result.agent == "ckpt:best" and result.model_version == 5
