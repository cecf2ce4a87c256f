"""The one policy-value loss (keisei sl and the search learner) against hand computations."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from keisei.rl.policy_value import PolicyValueStep, policy_value_losses


def test_soft_target_loss_equals_a_hand_computation():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    target = torch.tensor([[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]])
    value = torch.tensor([0.5, -0.2])
    z = torch.tensor([1.0, 0.0])
    out = policy_value_losses(logits, value, target, z, value_coef=0.5)

    def log_softmax(row):
        m = max(row)
        lse = m + math.log(sum(math.exp(x - m) for x in row))
        return [x - lse for x in row]

    ce = [-sum(t * lp for t, lp in zip(trow, log_softmax(lrow))) for lrow, trow in zip(logits.tolist(), target.tolist())]
    h = [-sum(t * math.log(t) for t in trow if t > 0) for trow in target.tolist()]
    policy = sum(ce) / 2
    value_loss = ((0.5 - 1.0) ** 2 + (-0.2) ** 2) / 2
    assert math.isclose(out.policy_loss.item(), policy, rel_tol=1e-6)
    assert math.isclose(out.value_loss.item(), value_loss, rel_tol=1e-6)
    assert math.isclose(out.loss.item(), policy + 0.5 * value_loss, rel_tol=1e-6)
    assert math.isclose(out.kl.item(), policy - sum(h) / 2, rel_tol=1e-5)
    assert out.top1.item() == 0.5  # row 0 agrees (argmax 0), row 1 does not (2 vs 0)


def test_one_hot_labels_are_the_supervised_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(8, 2187)
    labels = torch.randint(0, 2187, (8,))
    dense = F.one_hot(labels, 2187).float()
    a = policy_value_losses(logits, torch.zeros(8), labels, torch.zeros(8), 1.0)
    b = policy_value_losses(logits, torch.zeros(8), dense, torch.zeros(8), 1.0)
    assert torch.allclose(a.policy_loss, F.cross_entropy(logits, labels))
    assert torch.allclose(a.policy_loss, b.policy_loss)
    assert torch.allclose(b.kl, b.policy_loss, atol=1e-5)  # a one-hot target has no entropy


def test_value_weight_zero_drops_a_position_from_the_value_loss():
    value = torch.tensor([0.0, 0.9])
    z = torch.tensor([1.0, -1.0])
    labels = torch.tensor([0, 1])
    out = policy_value_losses(torch.zeros(2, 4), value, labels, z, 1.0, weight=torch.tensor([1.0, 0.0]))
    assert math.isclose(out.value_loss.item(), 1.0)  # only the first position: (0 - 1)^2


def test_the_update_step_lowers_the_loss_and_clips(tmp_path):
    torch.manual_seed(0)
    model = _TinyNet()
    step = PolicyValueStep(model, optimizer="sgd", learning_rate=0.1, max_grad_norm=1.0)
    obs = torch.randn(16, 5)
    labels = torch.randint(0, 7, (16,))
    z = torch.rand(16) * 2 - 1
    first = step.step(obs, labels, z).loss.item()
    for _ in range(30):
        last = step.step(obs, labels, z).loss.item()
    assert last < first * 0.7
    assert step.steps == 31 and not model.training  # left in eval mode for self-play
    state = step.state_dict()
    again = PolicyValueStep(_TinyNet(), optimizer="sgd", learning_rate=0.1)
    again.load_state_dict(state)
    assert again.steps == 31


class _TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Linear(5, 8)

    def forward(self, x):
        h = self.body(x)
        return h[:, :7], torch.tanh(h[:, 7])
