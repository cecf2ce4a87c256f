"""The Collector / Learner seam, the one Counters object and the Trainer's WeightPublisher."""

import torch
from training_helpers import tiny_config

from keisei.rl import Learner, PPOBatch
from keisei.run.callbacks import Callback
from keisei.run.counters import Counters
from keisei.training.publisher import WeightPublisher
from keisei.training.trainer import Trainer
from keisei.weights import ModelWeightManager, tensors_sha256

ROLLOUT = 32


class CountingLearner:
    """A second Learner behind the seam: no gradient step, just records what it was given."""

    checkpoint_keys = ("counting_state",)

    def __init__(self):
        self.seen: list[tuple[int, int]] = []

    def learn(self, batch: PPOBatch) -> dict[str, float]:
        self.seen.append((batch.steps, int(batch.versions.max())))
        assert batch.versions.shape == (batch.buffer.num_steps, batch.buffer.num_envs)
        return {"counting/batches": float(len(self.seen))}

    def checkpoint_state(self):
        return {"counting_state": {"batches": len(self.seen)}}

    def load_checkpoint_state(self, payload):
        pass


class Snapshots(Callback):
    def __init__(self):
        self.taken = []

    def on_update_end(self, ctx):
        self.taken.append((ctx.counters is ctx.publisher.counters, ctx.publisher.current()))


def test_the_loop_drives_any_learner_and_tags_experience_with_the_model_version(tmp_path):
    trainer = Trainer(tiny_config(f"training.total_timesteps={3 * ROLLOUT}"), run_dir=tmp_path)
    learner: Learner = CountingLearner()
    trainer.loop.learner = learner
    summary = trainer.run()
    assert summary.updates == 3
    # batch k (0-based) was collected by version k: versions advance once per update
    assert learner.seen == [(ROLLOUT, 0), (ROLLOUT, 1), (ROLLOUT, 2)]
    assert trainer.metrics.last["counting/batches"] == 3.0


def test_counters_are_the_one_source_read_by_context_and_metrics(tmp_path):
    trainer = Trainer(tiny_config(f"training.total_timesteps={2 * ROLLOUT}"), run_dir=tmp_path)
    seen = []

    class Probe(Callback):
        def on_update_end(self, ctx):
            seen.append((ctx.prev_timesteps, ctx.timesteps, ctx.updates, ctx.model_version))
            ctx.metrics.increment("probe/calls")

    trainer.callbacks.add(Probe())
    trainer.run()
    assert seen == [(0, ROLLOUT, 1, 1), (ROLLOUT, 2 * ROLLOUT, 2, 2)]
    assert trainer.ctx.counters is trainer.counters and trainer.metrics.progress is trainer.counters
    assert trainer.metrics.step == 2 * ROLLOUT  # read at call time, never copied


def test_published_snapshots_are_frozen_hashed_and_recorded(tmp_path):
    trainer = Trainer(tiny_config(f"training.total_timesteps={2 * ROLLOUT}"), run_dir=tmp_path)
    probe = Snapshots()
    trainer.callbacks.add(probe)
    trainer.run()
    (same1, first), (same2, second) = probe.taken
    assert same1 and same2
    assert (first.model_version, first.timestep) == (1, ROLLOUT)
    assert (second.model_version, second.timestep) == (2, 2 * ROLLOUT)
    assert first.sha256 == tensors_sha256(first.state_dict) != second.sha256
    assert second.sha256 == tensors_sha256(trainer.models.model.state_dict())
    assert [(p.model_version, p.sha256) for p in trainer.publisher.history] == [
        (1, first.sha256), (2, second.sha256)]
    assert trainer.publisher.issued(1, first.sha256) and not trainer.publisher.issued(1, second.sha256)


def test_current_publishes_once_per_version_and_notifies_listeners():
    model = torch.nn.Linear(3, 2)
    counters = Counters(model_version=4, timesteps=100)
    cfg = tiny_config().model
    publisher = WeightPublisher(model, cfg, counters, ModelWeightManager())
    heard = []
    publisher.add_listener(heard.append)
    a = publisher.current()
    assert publisher.current() is a and heard == [a]
    with torch.no_grad():
        model.weight.add_(1.0)
    counters.model_version = 5
    b = publisher.current()
    assert b is not a and heard == [a, b] and b.model_version == 5 and a.sha256 != b.sha256
    assert torch.equal(a.state_dict["weight"] + 1.0, b.state_dict["weight"])  # a did not follow the live model
