"""StepManager: what a rollout stores (obs before each move, bootstrap values of truncated games)."""

import numpy as np
import torch

from keisei.config import EnvConfig, ModelConfig
from keisei.models import build_model
from keisei.rl import RolloutBuffer
from keisei.run.timing import Stopwatch
from keisei.shogi import Game, encode, legal_mask, usi_of
from keisei.training.env_manager import EnvManager
from keisei.training.step_manager import StepManager


def collect(max_plies: int, num_steps: int = 8, num_envs: int = 4):
    torch.manual_seed(0)
    model = build_model(ModelConfig(blocks=1, channels=16, value_hidden=16))
    envs = EnvManager(EnvConfig(num_envs=num_envs, max_plies=max_plies), seed=3)
    buffer = RolloutBuffer(num_steps, num_envs, "cpu")
    timer = Stopwatch()
    rollout = StepManager(model, envs, torch.device("cpu"), "off", timer).collect(buffer)
    return model, envs, buffer, rollout, timer


def value_of(model, game: Game) -> float:
    with torch.inference_mode():
        return float(model(torch.from_numpy(encode(game)[None]))[1][0])


def test_buffer_holds_the_position_each_action_was_chosen_in():
    model, envs, buffer, rollout, timer = collect(max_plies=40)
    assert rollout.steps == 32 and rollout.finished == [] and timer.seconds > 0
    for i in range(4):
        game = Game(max_plies=40)
        for t in range(8):
            assert np.array_equal(buffer.obs[t, i].numpy(), encode(game)), (t, i)
            assert np.array_equal(buffer.masks[t, i].numpy(), legal_mask(game)), (t, i)
            game.push_usi(usi_of(game, int(buffer.actions[t, i])))
    assert not buffer.truncated.any() and not buffer.bootstrap_values.any()
    expected = torch.tensor([value_of(model, g) for g in envs.env.games])
    assert torch.allclose(rollout.next_values, expected, atol=1e-5)


def test_truncated_games_store_the_value_of_their_final_position():
    model, _, buffer, rollout, _ = collect(max_plies=3)
    # every game is cut at ply 3: steps 2 and 5 truncate all four envs
    assert buffer.truncated[[2, 5]].all() and buffer.truncated.sum() == 8
    assert not buffer.terminated.any()
    assert (buffer.bootstrap_values[~buffer.truncated] == 0).all()
    assert len(rollout.finished) == 8 and all(g.truncated and g.reason == "max_plies" for g in rollout.finished)
    # rollout.finished lists games in step order, env order within a step
    for k, finished in enumerate(rollout.finished):
        step, env = (2, 5)[k // 4], k % 4
        game = Game(finished.start_sfen, max_plies=100)
        for usi in finished.moves:
            game.push_usi(usi)
        assert abs(float(buffer.bootstrap_values[step, env]) - value_of(model, game)) < 1e-5
