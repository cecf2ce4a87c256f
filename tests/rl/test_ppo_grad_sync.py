"""PPOLearner's GradientSync hook (data-parallel ranks): where it is called, and that its answers are used."""

import copy

import pytest
import torch
from test_ppo import cfg, make_buffer

from keisei.models import build_model
from keisei.rl import PPOLearner


@pytest.fixture
def model(tiny_cfg):
    torch.manual_seed(0)
    return build_model(tiny_cfg).eval()


class RecordingSync:
    """A one-replica GradientSync that records each call; ``kl`` (if set) is the 'mean over ranks' it reports
    for the early-stop KL, as if another rank's KL were large."""

    world_size = 1

    def __init__(self, kl: float | None = None) -> None:
        self.calls: list[str] = []
        self.kl = kl

    def average_gradients(self, parameters):
        assert all(p.grad is not None for p in parameters)
        self.calls.append("grads")

    def average(self, values):
        self.calls.append(f"average{len(values)}")
        if self.kl is not None and len(values) == 1:
            return torch.full_like(values, self.kl)
        return values

    def sync_buffers(self, module):
        self.calls.append("buffers")


def test_hook_runs_every_minibatch_and_a_neutral_sync_changes_nothing(model):
    buf = make_buffer(model)
    twin = copy.deepcopy(model)
    plain = PPOLearner(model, cfg(), total_updates=2).update(buf)
    sync = RecordingSync()
    synced = PPOLearner(twin, cfg(), total_updates=2, grad_sync=sync).update(buf)
    # 2 epochs x 2 minibatches of gradients, then the buffers once and the metrics once
    assert sync.calls == ["grads"] * 4 + ["buffers", "average8"]
    assert synced == plain
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), twin.state_dict().values()))


def test_early_stop_follows_the_mean_kl_over_ranks(model):
    buf = make_buffer(model)
    local_only = PPOLearner(copy.deepcopy(model), cfg(update_epochs=3, target_kl=10.0), 1).update(buf)
    assert local_only["ppo/epochs_run"] == 3.0  # this rank's own KL never reaches 10
    sync = RecordingSync(kl=11.0)               # ... but the ranks' mean does
    agreed = PPOLearner(model, cfg(update_epochs=3, target_kl=10.0), 1, grad_sync=sync).update(buf)
    assert agreed["ppo/epochs_run"] == 1.0
    assert sync.calls == ["grads", "grads", "average1", "buffers", "average8"]
