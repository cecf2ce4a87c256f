"""ModelWeightManager: snapshots (unwrapping, hashing, independence) and the checkpoint LRU cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from keisei.checkpoint import CheckpointError, save_checkpoint
from keisei.config import ModelConfig
from keisei.evaluation.weights import (
    ModelWeightManager,
    state_nbytes,
    strip_wrapper_prefixes,
    tensors_sha256,
)
from keisei.models import build_model

ARCH = ModelConfig(name="resnet", blocks=1, channels=16, value_hidden=16).model_dump(mode="json")


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(ARCH)


def write_checkpoint(path: Path, model: nn.Module, timesteps: int = 100, arch: dict | None = None) -> Path:
    return save_checkpoint(path, {
        "model_name": "resnet",
        "model_arch": dict(arch or ARCH),
        "model_state": model.state_dict(),
        "model_version": timesteps // 10,
        "counters": {"timesteps": timesteps, "updates": 1, "games": 0},
    })


def snap(manager: ModelWeightManager, model: nn.Module, version: int = 3, timestep: int = 300):
    return manager.snapshot(model, version, timestep, "resnet", ARCH)


def test_strip_wrapper_prefixes_handles_nesting_and_rejects_collisions():
    t = torch.zeros(1)
    out = strip_wrapper_prefixes({"_orig_mod.module.stem.w": t, "module.head.b": t, "plain": t})
    assert sorted(out) == ["head.b", "plain", "stem.w"]
    with pytest.raises(ValueError, match="both unwrap"):
        strip_wrapper_prefixes({"module.a": t, "a": t})


def test_snapshot_unwraps_compile_and_data_parallel():
    model = tiny_model()
    manager = ModelWeightManager()
    bare = snap(manager, model)
    for wrapped in (torch.compile(model), nn.DataParallel(model), torch.compile(nn.DataParallel(model))):
        s = snap(manager, wrapped)
        assert set(s.state_dict) == set(model.state_dict())
        assert s.sha256 == bare.sha256


def test_snapshot_is_tagged_cpu_and_independent_of_later_updates():
    model = tiny_model()
    manager = ModelWeightManager()
    s = snap(manager, model, version=7, timestep=4242)
    assert (s.model_name, s.model_version, s.timestep, s.label) == ("resnet", 7, 4242, "v7@t4242")
    assert s.model_arch["channels"] == 16
    assert all(t.device.type == "cpu" for t in s.state_dict.values())
    assert snap(manager, model).sha256 == s.sha256  # stable
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)  # the learner keeps updating in place
    assert tensors_sha256(s.state_dict) == s.sha256  # the snapshot did not move
    assert snap(manager, model).sha256 != s.sha256
    rebuilt = manager.build(s)
    assert not rebuilt.training
    assert tensors_sha256(rebuilt.state_dict()) == s.sha256


def test_hash_covers_names_and_values():
    a = {"x": torch.arange(4.0)}
    assert tensors_sha256(a) == tensors_sha256({"x": torch.arange(4.0)})
    assert tensors_sha256(a) != tensors_sha256({"y": torch.arange(4.0)})
    assert tensors_sha256(a) != tensors_sha256({"x": torch.arange(4.0) + 1e-6})
    assert tensors_sha256(a) != tensors_sha256({"x": torch.arange(4.0).double()})


def test_lru_by_count_evicts_least_recently_used(tmp_path):
    paths = [write_checkpoint(tmp_path / f"ckpt_{i}.pt", tiny_model(i), timesteps=i * 100) for i in range(3)]
    manager = ModelWeightManager(max_entries=2)
    a, snap_a = manager.load_checkpoint(paths[0])
    manager.load_checkpoint(paths[1])
    again, _ = manager.load_checkpoint(paths[0])  # hit: a is now the most recently used
    assert again is a and manager.hits == 1
    manager.load_checkpoint(paths[2])  # evicts paths[1], not paths[0]
    assert len(manager.cached_keys()) == 2
    assert manager.load_checkpoint(paths[0])[0] is a
    assert manager.hits == 2 and manager.misses == 3
    manager.load_checkpoint(paths[1])
    assert manager.misses == 4  # it had been evicted
    assert snap_a.timestep == 0 and snap_a.model_version == 0
    assert not a.training


def test_lru_by_bytes(tmp_path):
    paths = [write_checkpoint(tmp_path / f"ckpt_{i}.pt", tiny_model(i)) for i in range(3)]
    one = state_nbytes(tiny_model().state_dict())
    manager = ModelWeightManager(max_entries=10, max_bytes=int(2.5 * one))
    first, _ = manager.load_checkpoint(paths[0])
    manager.load_checkpoint(paths[1])
    manager.load_checkpoint(paths[2])
    assert len(manager.cached_keys()) == 2
    assert manager.cached_bytes <= manager.max_bytes
    assert manager.load_checkpoint(paths[0])[0] is not first  # paths[0] was the LRU entry: reloaded


def test_cache_key_is_file_content(tmp_path):
    path = write_checkpoint(tmp_path / "ckpt.pt", tiny_model(0))
    manager = ModelWeightManager()
    m1, s1 = manager.load_checkpoint(path)
    write_checkpoint(path, tiny_model(1))  # same path, new weights
    m2, s2 = manager.load_checkpoint(path)
    assert m2 is not m1 and s2.sha256 != s1.sha256
    assert len(manager.cached_keys()) == 2
    assert s2.sha256 == tensors_sha256(tiny_model(1).state_dict())


def test_checkpoint_architecture_mismatch_raises_checkpoint_error(tmp_path):
    wide = dict(ARCH, channels=32)
    path = write_checkpoint(tmp_path / "bad.pt", tiny_model(), arch=wide)
    with pytest.raises(CheckpointError, match="bad.pt"):
        ModelWeightManager().load_checkpoint(path)
    with pytest.raises(CheckpointError, match="missing.pt"):
        ModelWeightManager().load_checkpoint(tmp_path / "missing.pt")


def test_loaded_model_plays_the_stored_weights(tmp_path):
    model = tiny_model(5).eval()
    path = write_checkpoint(tmp_path / "ckpt.pt", model)
    loaded, snapshot = ModelWeightManager().load_checkpoint(path)
    obs = torch.randn(2, 119, 9, 9)
    with torch.no_grad():
        assert torch.equal(loaded(obs)[0], model(obs)[0])
    assert snapshot.sha256 == tensors_sha256(model.state_dict())
