"""One Elo scale (issue 18): the shipped calibration pins the reference players in every fit, so a rating
compares across runs whoever else played; `keisei ratings --calibrate` remakes it."""

from __future__ import annotations

import json

from eval_helpers import tiny_config

from keisei.cli import main
from keisei.evaluation.calibration import load_calibration, rating_pins, scale_name
from keisei.evaluation.ratings import fit_ratings


def test_the_shipped_scale_pins_the_reference_players_and_joint_does_not():
    calibration = load_calibration()
    assert calibration is not None and calibration.anchor == "random" and calibration.ratings["random"] == 0
    assert "greedy" in calibration.ratings and calibration.games > 0 and calibration.command
    anchor, fixed = rating_pins(tiny_config().evaluation)
    assert anchor == "random" and fixed["greedy"] == calibration.ratings["greedy"]
    assert scale_name(tiny_config().evaluation) == f"scale {calibration.scale}"
    joint = tiny_config().evaluation.model_copy(update={"rating_scale": "joint", "anchor_elo": {"x": 5.0}})
    assert rating_pins(joint) == ("random", {"x": 5.0}) and scale_name(joint) == "joint fit, anchor random = 0 Elo"


def test_an_agents_rating_does_not_float_with_who_else_played():
    anchor, fixed = rating_pins(tiny_config().evaluation)
    agent_vs_greedy = [("agent", "greedy", "black")] * 6 + [("greedy", "agent", "black")] * 4
    # two runs: in one, greedy also lost every game to random (a "weak" greedy), in the other it won them all
    weak = agent_vs_greedy + [("random", "greedy", "black")] * 10
    strong = agent_vs_greedy + [("greedy", "random", "black")] * 10
    a = fit_ratings(weak, anchor=anchor, fixed=fixed).get("agent").elo
    b = fit_ratings(strong, anchor=anchor, fixed=fixed).get("agent").elo
    assert abs(a - b) < 1e-6  # greedy is pinned: the agent's Elo rests on its own games only
    joint_a = fit_ratings(weak, anchor="random").get("agent").elo
    joint_b = fit_ratings(strong, anchor="random").get("agent").elo
    assert abs(joint_a - joint_b) > 100  # what users met: the joint fit floats


def test_calibrate_remakes_a_scale_file(tmp_path, capsys):
    out = tmp_path / "scale.json"
    assert main(["ratings", "--calibrate", "--games", "4", "--player", "random", "--player", "greedy",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["anchor"] == "random" and data["ratings"]["random"] == 0 and data["games"] == 4
    assert set(data["ratings"]) == {"random", "greedy"} and data["command"].startswith("keisei ratings --calibrate")
    assert load_calibration(out).ratings == data["ratings"]
    assert "random vs greedy: W/D/L" in capsys.readouterr().out
