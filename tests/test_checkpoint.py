import hashlib
import random

import numpy as np
import pytest
import torch

from keisei.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    capture_rng_state,
    checkpoint_content_hash,
    load_checkpoint,
    load_model_from_checkpoint,
    resolve_checkpoint_path,
    restore_rng_state,
    save_checkpoint,
)
from keisei.config import KeiseiConfig, ModelConfig, PPOConfig
from keisei.errors import DurableWriteError
from keisei.models import OBS_SHAPE, build_model, state_dict_for_save
from keisei.rl import PPOLearner

TINY = ModelConfig(blocks=1, channels=8, se=True, se_ratio=4, value_hidden=8)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    torch.set_num_threads(1)


def make_payload(model_cfg: ModelConfig = TINY) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(0)
    model = build_model(model_cfg).eval()
    learner = PPOLearner(model, PPOConfig(), total_updates=10).state_dict()
    payload = {
        "model_name": model_cfg.name,
        "model_arch": model_cfg.model_dump(),
        "model_state": state_dict_for_save(model),
        "optimizer_state": learner["optimizer"],
        "scheduler_state": learner["scheduler"],
        "scaler_state": learner["scaler"],
        "rng": capture_rng_state(),
        "counters": {"timesteps": 512, "updates": 1, "games": 3},
        "config": KeiseiConfig().to_dict(),
        "model_version": 4,
    }
    return model, payload


def test_atomic_save_leaves_only_the_checkpoint(tmp_path):
    _, payload = make_payload()
    path = save_checkpoint(tmp_path / "sub" / "ckpt.pt", payload)
    assert path == tmp_path / "sub" / "ckpt.pt"
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]


def test_failed_save_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    _, payload = make_payload()
    path = save_checkpoint(tmp_path / "ckpt.pt", payload)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        try:
            raise OSError(28, "No space left on device")
        except OSError:  # torch.save reports a failed write as a RuntimeError raised while handling it
            raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(DurableWriteError, match=r"cannot write .*ckpt\.pt: No space left on device$"):
        save_checkpoint(path, {**payload, "model_version": 5})
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_round_trip_weights_only_and_model_rebuild(tmp_path):
    model, payload = make_payload()
    path = save_checkpoint(tmp_path / "ckpt.pt", payload)
    assert torch.load(path, weights_only=True)["format_version"] == FORMAT_VERSION
    loaded = load_checkpoint(path)
    assert loaded["counters"] == {"timesteps": 512, "updates": 1, "games": 3} and loaded["model_version"] == 4
    assert (
        loaded["config"] == payload["config"] and loaded["optimizer_state"]["param_groups"][0]["lr"] == 3e-4
    )
    rebuilt, meta = load_model_from_checkpoint(path)
    assert not rebuilt.training and meta["model_name"] == "resnet"
    obs = torch.randn(2, *OBS_SHAPE)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model(obs), rebuilt(obs)))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_files_raise_naming_the_file(tmp_path, damage):
    _, payload = make_payload()
    path = save_checkpoint(tmp_path / "bad.pt", payload)
    data = path.read_bytes()
    path.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint" * 50, "empty": b""}[damage]
    )
    with pytest.raises(CheckpointError, match="corrupt or truncated") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_model_from_checkpoint(path)


def test_corrupt_checkpoint_names_the_valid_ones_left_and_gives_no_weights_only_advice(tmp_path):
    _, payload = make_payload()
    ckdir = tmp_path / "checkpoints"
    good = [save_checkpoint(ckdir / f"ckpt_{t}.pt", payload) for t in (32, 64)]
    bad = save_checkpoint(ckdir / "ckpt_96.pt", payload)
    bad.write_bytes(bad.read_bytes()[:-300])  # truncated: the zip's central directory is gone
    half = ckdir / "ckpt_80.pt"
    half.write_bytes(good[0].read_bytes()[: len(good[0].read_bytes()) // 2])  # another broken one: not listed
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(bad)
    text = str(info.value)
    assert text.startswith(f"checkpoint {bad}: file is corrupt or truncated (")
    assert "weights_only" not in text and "internal miniz" not in text and "\n" not in text
    listed = text.split(f"valid checkpoints in {ckdir}: ")[1].split(", ")
    assert sorted(listed) == ["ckpt_32.pt", "ckpt_64.pt"]
    for p in (*good, half):
        p.unlink()
    with pytest.raises(CheckpointError, match=r"corrupt or truncated \(.*\)$") as info:
        load_checkpoint(bad)
    assert "valid checkpoint" not in str(info.value)  # none left: nothing listed (issue 18)


def test_a_text_file_is_not_a_checkpoint_and_a_latest_pointer_is_followed(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my training notes\n")
    with pytest.raises(CheckpointError, match=r"notes\.txt: not a Keisei checkpoint \(checkpoints are the \.pt"):
        load_checkpoint(notes)
    _, payload = make_payload()
    ckdir = tmp_path / "run" / "checkpoints"
    saved = save_checkpoint(ckdir / "ckpt_64.pt", payload)
    (ckdir / "latest").write_text("ckpt_64.pt\n")
    assert resolve_checkpoint_path(ckdir / "latest") == saved
    assert load_checkpoint(ckdir / "latest")["counters"] == payload["counters"]
    model, _ = load_model_from_checkpoint(ckdir / "latest")
    assert model is not None
    (ckdir / "latest").write_text("ckpt_999.pt\n")  # names nothing: an error naming the pointer, not a crash
    with pytest.raises(CheckpointError, match="latest: not a Keisei checkpoint"):
        load_checkpoint(ckdir / "latest")


def test_pickled_objects_are_refused_without_the_advice_to_trust_the_file(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"x": np.float64(1.0)}, path)  # a numpy global: the safe loader refuses it
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    text = str(info.value)
    assert "file holds objects a checkpoint cannot hold (Unsupported global" in text
    assert "weights_only" not in text and "trust" not in text and "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.pt: file not found"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="file not found"):
        checkpoint_content_hash(tmp_path / "nope.pt")


@pytest.mark.parametrize(
    "change,message",
    [
        ({"model_state": None}, "required keys missing: model_state"),
        ({"format_version": None}, "format_version is missing"),
        ({"format_version": FORMAT_VERSION + 1}, "newer than this Keisei supports"),
        ({"counters": {"timesteps": 1}}, "counters missing or not int: updates, games"),
        ({"model_version": "4"}, "model_version must be an int"),
    ],
)
def test_invalid_payloads_rejected_on_load(tmp_path, change, message):
    _, payload = make_payload()
    payload = {"format_version": FORMAT_VERSION, **payload, **change}
    payload = {k: v for k, v in payload.items() if v is not None}
    path = tmp_path / "raw.pt"
    torch.save(payload, path)  # bypass save_checkpoint's own validation
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_save_refuses_values_that_weights_only_cannot_load(tmp_path):
    _, payload = make_payload()
    payload["config"]["training"]["learning_rate"] = np.float64(3e-4)  # a float subclass, still unloadable
    with pytest.raises(
        CheckpointError, match=r"payload\['config'\]\['training'\]\['learning_rate'\] has type float64"
    ):
        save_checkpoint(tmp_path / "x.pt", payload)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "arch_change,message",
    [
        ({"blocks": 2}, r"missing keys: tower\.1\."),
        ({"channels": 16}, r"shape mismatch: stem\.0\.0\.weight \(8, 119, 3, 3\) vs model \(16, 119, 3, 3\)"),
        ({"se": False}, r"unexpected keys: tower\.0\.se\.fc1"),
        ({"name": "mystery"}, "disagrees with model_arch"),
    ],
)
def test_wrong_architecture_raises(tmp_path, arch_change, message):
    _, payload = make_payload()
    payload["model_arch"] = {**payload["model_arch"], **arch_change}
    path = save_checkpoint(tmp_path / "arch.pt", payload)
    with pytest.raises(CheckpointError, match=message) as info:
        load_model_from_checkpoint(path)
    assert str(path) in str(info.value)


def test_unknown_model_name_raises(tmp_path):
    _, payload = make_payload()
    payload["model_name"] = payload["model_arch"]["name"] = "mystery"
    path = save_checkpoint(tmp_path / "m.pt", payload)
    with pytest.raises(CheckpointError, match="unknown model 'mystery'; known models: .*resnet"):
        load_model_from_checkpoint(path)


def test_content_hash_is_sha256_of_bytes(tmp_path):
    _, payload = make_payload()
    path = save_checkpoint(tmp_path / "h.pt", payload)
    digest = checkpoint_content_hash(path)
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    save_checkpoint(path, {**payload, "model_version": 5})
    assert checkpoint_content_hash(path) != digest


def draws():
    return (
        random.random(),
        random.gauss(0, 1),
        float(np.random.rand()),
        float(np.random.randn()),
        torch.rand(3).tolist(),
    )


def test_rng_capture_restore_reproduces_draws_after_weights_only_round_trip(tmp_path):
    random.gauss(0, 1)  # leaves a cached gaussian in python's state
    np.random.randn()  # and in numpy's
    state = capture_rng_state()
    first = draws()
    torch.save(state, tmp_path / "rng.pt")
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert draws() == first
    with pytest.raises(ValueError, match="missing: numpy"):
        restore_rng_state({"python": state["python"], "torch": state["torch"]})
