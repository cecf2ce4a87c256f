import math

import cshogi
import pytest
import torch
from cshogi.dlshogi import make_move_label
from torch import nn

from keisei.config import ModelConfig
from keisei.models import (
    MODEL_REGISTRY,
    NUM_ACTIONS,
    OBS_SHAPE,
    ActorCriticProtocol,
    build_model,
    register_model,
    state_dict_for_save,
    unwrap_model,
)


def test_forward_shapes_value_range_and_near_uniform_policy(tiny_cfg):
    model = build_model(tiny_cfg).eval()
    assert isinstance(model, ActorCriticProtocol)
    obs = torch.randn(5, *OBS_SHAPE)
    with torch.no_grad():
        logits, value = model(obs)
        mask = torch.zeros(5, NUM_ACTIONS, dtype=torch.bool)
        mask[:, :30] = True
        _, logp, ent, value2 = model.get_action_and_value(obs, mask)
    assert logits.shape == (5, NUM_ACTIONS) and value.shape == (5,)
    assert (value.abs() <= 1).all() and torch.equal(value, value2)
    assert logp.tolist() == pytest.approx([-math.log(30)] * 5, abs=0.05)
    assert ent.tolist() == pytest.approx([math.log(30)] * 5, abs=0.01)


def test_bad_obs_shape_raises(tiny_cfg):
    with pytest.raises(ValueError, match="obs must have shape"):
        build_model(tiny_cfg)(torch.zeros(2, 118, 9, 9))


@pytest.mark.parametrize("plane,i,j", [(0, 0, 0), (0, 1, 5), (13, 4, 7), (26, 8, 8)])
def test_policy_plane_flattens_in_dlshogi_label_order(tiny_cfg, plane, i, j):
    model = build_model(tiny_cfg).eval()
    onehot = torch.zeros(1, 27, 9, 9)
    onehot[0, plane, i, j] = 5.0

    class Fixed(nn.Module):
        def forward(self, x):
            return onehot.expand(x.shape[0], -1, -1, -1)

    model.policy_out = Fixed()
    with torch.no_grad():
        logits, _ = model(torch.zeros(2, *OBS_SHAPE))
    assert logits.argmax(dim=1).tolist() == [plane * 81 + i * 9 + j] * 2


def test_cshogi_label_is_direction_times_81_plus_square():
    board = cshogi.Board()
    labels = {cshogi.move_to_usi(m): make_move_label(m, board.turn) for m in board.legal_moves}
    assert labels["2g2f"] == 0 * 81 + 1 * 9 + 5  # UP plane, square 2f = file index 1 * 9 + rank index 5
    for usi in ("7g7f", "3c3d", "8h2b+", "3a2b", "B*5e"):  # alternating colours: white's squares are rotated
        move = board.move_from_usi(usi)
        assert board.is_legal(move)
        label, to_sq = make_move_label(move, board.turn), cshogi.move_to(move)
        square = to_sq if board.turn == cshogi.BLACK else 80 - to_sq
        assert label % 81 == square and 0 <= label // 81 < 27
        board.push(move)
    assert (
        label == 24 * 81 + 40
    )  # B*5e: drop planes are 20..26 (cshogi's hand-piece index; bishop = 4); 5e = 40


def test_build_model_round_trip_via_dict(tiny_cfg):
    a = build_model(tiny_cfg).eval()
    b = build_model(tiny_cfg.model_dump()).eval()
    b.load_state_dict(a.state_dict(), strict=True)
    obs = torch.randn(3, *OBS_SHAPE)
    with torch.no_grad():
        (la, va), (lb, vb) = a(obs), b(obs)
    assert torch.equal(la, lb) and torch.equal(va, vb)
    assert b.model_cfg == tiny_cfg


def test_build_model_errors(tiny_cfg):
    with pytest.raises(ValueError, match=r"unknown model 'nope'; known models: .*resnet"):
        build_model(tiny_cfg.model_copy(update={"name": "nope"}))
    with pytest.raises(ValueError, match="blocks"):
        build_model({**tiny_cfg.model_dump(), "blocks": 0})
    with pytest.raises(ValueError, match="already registered"):
        register_model("resnet")(lambda cfg: nn.Linear(1, 1))


def test_register_model_adds_a_buildable_name(tiny_cfg):
    @register_model("test_linear")
    def make(cfg: ModelConfig) -> nn.Module:
        return nn.Linear(cfg.channels, 1)

    try:
        model = build_model({**tiny_cfg.model_dump(), "name": "test_linear"})
        assert isinstance(model, nn.Linear) and model.in_features == 8
    finally:
        MODEL_REGISTRY.pop("test_linear")


def test_unwrap_and_state_dict_without_prefixes(tiny_cfg):
    model = build_model(tiny_cfg)
    wrapped = torch.compile(nn.DataParallel(torch.compile(model)))
    assert unwrap_model(wrapped) is model and unwrap_model(model) is model
    assert any(k.startswith("_orig_mod.module.") for k in wrapped.state_dict())
    saved = state_dict_for_save(wrapped)
    assert list(saved) == list(model.state_dict())


def test_model_constants_agree_with_shogi_package():
    from keisei import shogi

    assert (shogi.NUM_ACTIONS, tuple(shogi.OBS_SHAPE)) == (NUM_ACTIONS, OBS_SHAPE)
    model = build_model(ModelConfig(blocks=1, channels=16, value_hidden=16)).eval()
    logits, value = model(torch.zeros(2, *shogi.OBS_SHAPE))
    assert logits.shape == (2, shogi.NUM_ACTIONS) and value.shape == (2,)
