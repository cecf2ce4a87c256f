"""`keisei export`: dlshogi's ONNX layout read back by onnxruntime (a runtime we did not write), outputs equal
to the checkpoint's over positions of real games; bad inputs are one line, exit 2, and no file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from nets import game_positions, trained_like, write

from keisei.checkpoint import load_model_from_checkpoint
from keisei.cli import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("export") / "net.pt", trained_like())


def run_ort(path: Path, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return tuple(session.run(None, {"input1": np.ascontiguousarray(obs[:, :62]),
                                    "input2": np.ascontiguousarray(obs[:, 62:])}))


def test_onnx_file_has_dlshogis_signature_and_the_checkpoints_outputs(checkpoint, tmp_path):
    out = tmp_path / "net.onnx"
    assert main(["export", str(checkpoint), "--out", str(out)]) == 0
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input}
    assert dims == {"input1": ["batch_size", 62, 9, 9], "input2": ["batch_size", 57, 9, 9]}
    assert [o.name for o in proto.graph.output] == ["output_policy", "output_value"]

    obs = game_positions(300)
    policy, win = run_ort(out, obs)
    model, _ = load_model_from_checkpoint(checkpoint)
    with torch.inference_mode():
        logits, value = model(torch.from_numpy(obs))
    assert policy.shape == (300, 2187) and win.shape == (300, 1)
    assert (policy.argmax(1) == logits.numpy().argmax(1)).all()
    assert np.abs(policy - logits.numpy()).max() < 1e-3
    # output_value is the side to move's win probability: (v + 1) / 2 of Keisei's tanh value
    assert np.abs(win[:, 0] - (value.numpy() + 1) / 2).max() < 1e-4
    assert 0.0 <= win.min() and win.max() <= 1.0 and win.std() > 0.01  # the values are not all the same


def test_fixed_batch_and_fp16_and_torchscript(checkpoint, tmp_path):
    obs = game_positions(16, seed=5)
    model, _ = load_model_from_checkpoint(checkpoint)
    with torch.inference_mode():
        logits, value = model(torch.from_numpy(obs))

    fixed = tmp_path / "b16.onnx"
    assert main(["export", str(checkpoint), "--out", str(fixed), "--batch", "16", "--opset", "13"]) == 0
    proto = onnx.load(str(fixed))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [16, 62, 9, 9]
    assert proto.opset_import[0].version == 13
    _, win = run_ort(fixed, obs)
    assert np.abs(win[:, 0] - (value.numpy() + 1) / 2).max() < 1e-4

    half = tmp_path / "fp16.onnx"
    assert main(["export", str(checkpoint), "--out", str(half), "--fp16"]) == 0
    assert half.stat().st_size < 0.7 * fixed.stat().st_size  # the weights are 2 bytes each
    policy16, win16 = run_ort(half, obs)
    assert policy16.dtype == np.float32 and win16.dtype == np.float32  # float32 in and out
    assert np.abs(win16[:, 0] - (value.numpy() + 1) / 2).max() < 2e-2
    assert (policy16.argmax(1) == logits.numpy().argmax(1)).mean() >= 0.9

    ts = tmp_path / "net.ts"
    assert main(["export", str(checkpoint), "--out", str(ts), "--format", "torchscript"]) == 0
    with pytest.warns(DeprecationWarning):  # torch 2.13 deprecates TorchScript, and still loads it
        scripted = torch.jit.load(str(ts))
    p, w = scripted(torch.from_numpy(obs[:, :62]).contiguous(), torch.from_numpy(obs[:, 62:]).contiguous())
    assert torch.allclose(p, logits, atol=1e-4) and torch.allclose(w[:, 0], (value + 1) / 2, atol=1e-5)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keisei", "export", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_bad_inputs_are_one_line_exit_2_and_no_file(checkpoint, tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(checkpoint.read_bytes()[: 2000])
    not_a_net = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, not_a_net)
    cases = [
        ([str(corrupt), "--out", str(tmp_path / "a.onnx")], "corrupt.pt", tmp_path / "a.onnx"),
        ([str(not_a_net), "--out", str(tmp_path / "b.onnx")], "other.pt", tmp_path / "b.onnx"),
        ([str(checkpoint), "--out", str(tmp_path / "missing" / "c.onnx")], "missing", tmp_path / "missing" / "c.onnx"),
        ([str(checkpoint), "--out", str(tmp_path / "d.onnx"), "--batch", "0"], "--batch", tmp_path / "d.onnx"),
    ]
    for args, named, target in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and named in lines[0] and "Traceback" not in proc.stderr, proc.stderr
        assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no partial file left either


def test_a_net_with_another_output_is_refused(tmp_path, monkeypatch):
    from keisei.models.export import check_policy_value

    class ValueOnly(torch.nn.Module):
        def forward(self, obs):
            return obs.mean(dim=(1, 2, 3))

    with pytest.raises(ValueError, match="not a policy-value network"):
        check_policy_value(ValueOnly())
