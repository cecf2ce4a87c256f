"""ResNet actor-critic with optional squeeze-and-excitation and a dlshogi-style policy head.

Policy: the head emits 27 planes of 9x9 (direction, then the destination square's two board axes exactly as
in the observation planes); flattening [27, 9, 9] gives logit index = direction * 81 + square, which is
cshogi.dlshogi.make_move_label's convention provided the observation's 9x9 axes follow cshogi's square
index (square = file * 9 + rank, rotated for white), as dlshogi's make_input_features does.
Value: a scalar in [-1, 1] (tanh) from the side to move's point of view: +1 = the side to move wins.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from keisei.config import ModelConfig
from keisei.models.base import ActorCriticBase
from keisei.models.constants import NUM_ACTIONS, NUM_SQUARES, OBS_SHAPE, POLICY_PLANES
from keisei.models.registry import register_model

VALUE_PLANES = 4


def _conv_bn(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out)
    )


class SqueezeExcitation(nn.Module):
    """Channel gating: global average pool -> bottleneck MLP -> sigmoid scale."""

    def __init__(self, channels: int, ratio: int) -> None:
        super().__init__()
        hidden = max(1, channels // ratio)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s[:, :, None, None]


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN(-SE) + skip, then ReLU."""

    def __init__(self, channels: int, se: bool, se_ratio: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn(channels, channels, 3)
        self.conv2 = _conv_bn(channels, channels, 3)
        self.se = SqueezeExcitation(channels, se_ratio) if se else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.conv1(x))
        y = self.se(self.conv2(y))
        return torch.relu(x + y)


@register_model("resnet")
class ResNetActorCritic(ActorCriticBase):
    """Stem conv, `blocks` residual blocks of `channels`, policy head (2,187 logits) and tanh value head."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.model_cfg = cfg
        c = cfg.channels
        self.stem = nn.Sequential(_conv_bn(OBS_SHAPE[0], c, 3), nn.ReLU(inplace=True))
        self.tower = nn.Sequential(*[ResidualBlock(c, cfg.se, cfg.se_ratio) for _ in range(cfg.blocks)])
        self.policy_conv = nn.Sequential(_conv_bn(c, c, 3), nn.ReLU(inplace=True))
        self.policy_out = nn.Conv2d(c, POLICY_PLANES, 1, bias=False)
        self.policy_bias = nn.Parameter(torch.zeros(NUM_ACTIONS))  # dlshogi: one bias per move label
        self.value_conv = nn.Sequential(_conv_bn(c, VALUE_PLANES, 1), nn.ReLU(inplace=True))
        self.value_fc = nn.Linear(VALUE_PLANES * NUM_SQUARES, cfg.value_hidden)
        self.value_out = nn.Linear(cfg.value_hidden, 1)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for block in self.tower:  # residual branches start near identity
            nn.init.zeros_(block.conv2[1].weight)
        # near-uniform initial policy over legal moves and a near-zero initial value
        nn.init.normal_(self.policy_out.weight, std=1e-3)
        nn.init.normal_(self.value_out.weight, std=1e-3)
        nn.init.zeros_(self.value_out.bias)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """obs f32[N,119,9,9] -> (logits f32[N,2187] in dlshogi label order, value f32[N] in [-1,1])."""
        if obs.dim() != 4 or tuple(obs.shape[1:]) != OBS_SHAPE:
            raise ValueError(
                f"obs must have shape [N, {', '.join(map(str, OBS_SHAPE))}], got {tuple(obs.shape)}"
            )
        x = self.tower(self.stem(obs))
        logits = self.policy_out(self.policy_conv(x)).flatten(1) + self.policy_bias
        v = torch.relu(self.value_fc(self.value_conv(x).flatten(1)))
        value = torch.tanh(self.value_out(v)).squeeze(-1)
        return logits, value
