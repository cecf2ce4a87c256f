import copy
import io
import logging

import pytest
import torch

from keisei.config import PPOConfig
from keisei.models import NUM_ACTIONS, OBS_SHAPE, build_model
from keisei.models.masking import log_prob_and_entropy
from keisei.rl import PPOLearner, RolloutBuffer, normalize_advantages

T, N = 4, 4
METRICS = {
    "losses/policy_loss",
    "losses/value_loss",
    "losses/entropy",
    "losses/old_approx_kl",
    "losses/approx_kl",
    "losses/clipfrac",
    "losses/explained_variance",
    "charts/learning_rate",
    "losses/grad_norm",
    "ppo/epochs_run",
}


def make_buffer(model, seed=0) -> RolloutBuffer:
    """A rollout sampled from `model` with random rewards and occasional game ends."""
    g = torch.Generator().manual_seed(seed)
    buf = RolloutBuffer(T, N)
    for t in range(T):
        obs = torch.randn(N, *OBS_SHAPE, generator=g)
        mask = torch.rand(N, NUM_ACTIONS, generator=g) < 0.02
        mask[:, 0] = True
        with torch.no_grad():
            action, logp, _, value = model.get_action_and_value(obs, mask, generator=g)
        term = torch.rand(N, generator=g) < 0.3
        reward = torch.where(term, torch.randint(0, 2, (N,), generator=g).float() * 2 - 1, torch.zeros(N))
        buf.add(
            t, obs, mask, action, logp, value, reward, term, torch.zeros(N, dtype=torch.bool), torch.zeros(N)
        )
    buf.compute_returns(torch.zeros(N), 0.99, 0.95)
    return buf


def cfg(**kw) -> PPOConfig:
    base = {
        "learning_rate": 1e-3,
        "update_epochs": 2,
        "num_minibatches": 2,
        "lr_schedule": "constant",
    }
    return PPOConfig(**{**base, **kw})


@pytest.fixture
def model(tiny_cfg):
    torch.manual_seed(0)
    return build_model(tiny_cfg).eval()


def surrogate_and_value_loss(model, buf):
    """Train-mode (batch-stat) surrogate mean(ratio * normalised adv) and 0.5*MSE on the whole batch."""
    logp, value = train_mode_outputs(model, buf)
    adv = normalize_advantages(buf.advantages.flatten())
    surrogate = ((logp - buf.logprobs.flatten()).exp() * adv).mean().item()
    return surrogate, 0.5 * ((value - buf.returns.flatten()) ** 2).mean().item()


def train_mode_outputs(model, buf):
    obs, masks, actions = (getattr(buf, k).flatten(0, 1) for k in ("obs", "masks", "actions"))
    model.train()
    with torch.no_grad():
        logits, value = model(obs)
    model.eval()
    return log_prob_and_entropy(logits, masks, actions)[0], value


def test_one_update_improves_surrogate_and_value_fit(model):
    buf = make_buffer(model)
    buf.logprobs.copy_(train_mode_outputs(model, buf)[0].view(T, N))  # ratio = 1 under whole-batch BN stats
    s0, v0 = surrogate_and_value_loss(model, buf)
    assert abs(s0) < 1e-5  # mean of normalised advantages
    learner = PPOLearner(model, cfg(update_epochs=1, num_minibatches=1, ent_coef=0.0, max_grad_norm=100.0), 1)
    metrics = learner.update(buf)
    s1, v1 = surrogate_and_value_loss(model, buf)
    assert s1 > s0 + 1e-4 and v1 < v0
    assert set(metrics) == METRICS and metrics["ppo/epochs_run"] == 1.0
    assert metrics["losses/value_loss"] == pytest.approx(v0, rel=1e-4)  # computed before the step
    assert not model.training


def test_eval_mode_restored_when_update_raises(model):
    buf = make_buffer(model)
    buf.masks[1, 2] = False  # a row with no legal move
    model.train()
    with pytest.raises(ValueError, match="no legal move"):
        PPOLearner(model, cfg(), 1).update(buf)
    assert not model.training


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_lr_schedule_horizon_is_total_optimizer_steps(model, schedule):
    buf = make_buffer(model)
    learner = PPOLearner(model, cfg(lr_schedule=schedule), total_updates=3)  # 3 * 2 epochs * 2 mb = 12 steps
    assert learner.total_steps == 12
    lrs = [learner.update(buf)["charts/learning_rate"] for _ in range(3)]
    expected = [1.0, 2 / 3, 1 / 3] if schedule == "linear" else [1.0, 0.75, 0.25]  # cosine: .5(1+cos(pi*k/3))
    assert lrs == pytest.approx([1e-3 * e for e in expected], abs=1e-9)
    assert learner.scheduler.last_epoch == 12
    assert learner.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_target_kl_stops_epochs_but_schedule_keeps_pace(model):
    buf = make_buffer(model)
    learner = PPOLearner(model, cfg(update_epochs=4, target_kl=1e-12, lr_schedule="linear"), total_updates=2)
    metrics = learner.update(buf)
    assert metrics["ppo/epochs_run"] == 1.0
    assert learner.scheduler.last_epoch == 8  # 4 epochs * 2 minibatches, skipped steps included
    assert PPOLearner(copy.deepcopy(model), cfg(update_epochs=3), 1).update(buf)["ppo/epochs_run"] == 3.0


def test_state_dict_round_trip_gives_identical_next_update(model):
    buf = make_buffer(model)
    a = PPOLearner(model, cfg(lr_schedule="linear"), total_updates=4)
    a.update(buf)
    blob = io.BytesIO()
    torch.save({"learner": a.state_dict(), "model": model.state_dict()}, blob)
    blob.seek(0)
    saved = torch.load(blob, weights_only=True)
    clone = copy.deepcopy(model)
    clone.load_state_dict(saved["model"])
    b = PPOLearner(clone, cfg(lr_schedule="linear"), total_updates=4, seed=99)
    b.load_state_dict(saved["learner"])
    ma, mb = a.update(buf), b.update(buf)
    assert ma == mb
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), clone.state_dict().values()))
    with pytest.raises(ValueError, match="missing: generator"):
        b.load_state_dict({k: v for k, v in saved["learner"].items() if k != "generator"})


def test_amp_ignored_on_cpu_with_warning(model, caplog):
    with caplog.at_level(logging.WARNING):
        learner = PPOLearner(model, cfg(), 1, amp="bf16")
    assert learner.amp_dtype is None and "amp=bf16 ignored" in caplog.text
    with pytest.raises(ValueError, match="total_updates"):
        PPOLearner(model, cfg(), 0)
