"""CPU thread settings: training.torch_threads=auto, inter-op threads, OMP_WAIT_POLICY set before torch loads
(checked against what torch's OpenMP runtime itself reports), and `keisei bench train`."""

import json
import subprocess
import sys

import pytest
import torch
from training_helpers import REPO, TINY, cli_env

from keisei.config import ConfigError, load_config
from keisei.run.threads import (
    ThreadSettings,
    apply_thread_settings,
    auto_torch_threads,
    parse_line,
    prepare_openmp_env,
    resolve_torch_threads,
)


def test_auto_threads_follow_omp_num_threads_else_the_cores_when_passive_else_half():
    assert [auto_torch_threads(c) for c in (1, 2, 3, 4, 8, 16, 64)] == [1, 1, 1, 2, 4, 4, 4]
    assert [auto_torch_threads(c, passive=True) for c in (1, 2, 3, 4, 8, 16)] == [1, 2, 3, 4, 4, 4]
    assert resolve_torch_threads("auto", cores=8, environ={"OMP_NUM_THREADS": "3"}) == 3
    assert resolve_torch_threads("auto", cores=8, environ={}) == 4
    assert resolve_torch_threads("auto", cores=2, environ={"OMP_NUM_THREADS": "junk"}) == 1
    assert resolve_torch_threads("auto", cores=2, environ={"OMP_WAIT_POLICY": "passive"}) == 2
    assert resolve_torch_threads("auto", cores=2, environ={"OMP_WAIT_POLICY": "ACTIVE"}) == 1
    assert resolve_torch_threads(2, cores=64, environ={"OMP_NUM_THREADS": "3"}) == 2
    assert resolve_torch_threads(0) == 0  # torch's default


def test_config_accepts_auto_or_a_count_and_names_the_field_otherwise():
    assert load_config().training.torch_threads == "auto"
    assert load_config(preset="tiny").training.torch_threads == "auto"
    assert load_config(overrides=["training.torch_threads=2"]).training.torch_threads == 2
    for bad in ("-1", "many", "2.5"):
        with pytest.raises(ConfigError, match="training.torch_threads"):
            load_config(overrides=[f"training.torch_threads={bad}"])
    with pytest.raises(ConfigError, match="training.interop_threads"):
        load_config(overrides=["training.interop_threads=-1"])


def test_wait_policy_of_the_user_is_kept_and_never_set_after_torch_loaded():
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert prepare_openmp_env(env) == "from the environment" and env["OMP_WAIT_POLICY"] == "ACTIVE"
    env = {}
    assert prepare_openmp_env(env) == "unset: torch was loaded before keisei could set it"  # torch is loaded here
    assert "OMP_WAIT_POLICY" not in env


def test_banner_line_round_trips_and_settings_read_back_from_torch():
    s = ThreadSettings(2, 1, "PASSIVE", "set by keisei", 16)
    assert parse_line(f"threads:       {s.line()}\n") == s
    saved = torch.get_num_threads()
    try:
        now = apply_thread_settings(2, torch.get_num_interop_threads() + 1)  # interop already fixed: kept
        assert now.torch_threads == 2 == torch.get_num_threads()
        assert now.interop_threads == torch.get_num_interop_threads()
    finally:
        torch.set_num_threads(saved)


def _train_stderr_and_stdout(tmp_path, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in cli_env().items() if k != "OMP_WAIT_POLICY"}
    env.update(OMP_DISPLAY_ENV="VERBOSE", **env_extra)  # the OpenMP runtime prints what it really uses
    sets = []
    for item in (*TINY, "training.total_timesteps=32", "training.torch_threads=2"):
        sets += ["--set", item]
    return subprocess.run([sys.executable, "-m", "keisei.cli", "train", "--preset", "tiny", "--run-dir",
                           str(tmp_path / "run"), *sets], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=240, check=False)


@pytest.mark.slow
def test_torch_runs_with_the_passive_wait_policy_keisei_sets_and_with_the_users_own(tmp_path):
    res = _train_stderr_and_stdout(tmp_path / "a", {})
    assert res.returncode == 0, res.stderr
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in res.stderr and "GOMP_SPINCOUNT = '0'" in res.stderr
    banner = parse_line(res.stdout)
    assert banner == ThreadSettings(2, 1, "PASSIVE", "set by keisei", banner.cores)

    res = _train_stderr_and_stdout(tmp_path / "b", {"OMP_WAIT_POLICY": "ACTIVE"})
    assert res.returncode == 0, res.stderr
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in res.stderr and "GOMP_SPINCOUNT = '0'" not in res.stderr
    assert parse_line(res.stdout).wait_policy_source == "from the environment"


@pytest.mark.slow
def test_bench_train_runs_each_setting_in_a_fresh_process_and_reports_what_openmp_used(tmp_path):
    res = subprocess.run([sys.executable, "-m", "keisei.cli", "bench", "train", "--seconds", "1", "--threads", "1",
                          "--wait-policy", "passive,default", "--set", "env.num_envs=4", "--set", "model.blocks=1",
                          "--json"], cwd=REPO, env=cli_env(), capture_output=True, text=True, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    passive, default = out["results"]
    assert (passive["wait_policy"], passive["omp_wait_policy"], passive["omp_spin_count"]) == ("passive", "PASSIVE", 0)
    assert default["wait_policy"] == "default" and default["omp_spin_count"] > 0  # the runtime spins a while
    for r in (passive, default):
        assert r["effective_torch_threads"] == 1 and r["effective_interop_threads"] == 1
        assert r["steps"] > 0 and r["steps_per_s"] > 0 and 0.9 <= r["seconds"] < 30


def test_bench_train_bad_options_are_one_line_errors():
    for args, message in ((["--threads", "0"], "--threads: expected comma-separated integers >= 1"),
                          (["--wait-policy", "lazy"], "--wait-policy: expected some of passive, active, default"),
                          (["--seconds", "0"], "--seconds must be > 0")):
        res = subprocess.run([sys.executable, "-m", "keisei.cli", "bench", "train", *args], cwd=REPO, env=cli_env(),
                             capture_output=True, text=True, timeout=120, check=False)
        assert res.returncode == 2 and res.stderr.strip() == f"keisei bench: error: {message}" + (
            ", got '0'" if args[0] == "--threads" else ", got 'lazy'" if args[0] == "--wait-policy" else ", got 0.0")
