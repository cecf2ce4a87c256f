"""docs/python.md's example runs as written (in a temporary directory)."""

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "python.md"


@pytest.mark.slow
def test_the_documented_python_example_runs(tmp_path, monkeypatch, capsys):
    code = re.search(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    assert code is not None, "docs/python.md has no python block"
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), str(PAGE), "exec"), {"__name__": "__docs__"})  # noqa: S102 - the documented example
    out = capsys.readouterr().out
    assert re.search(r"^done: [\d,]+ steps", out, flags=re.MULTILINE), out
    assert re.search(r"^vs random: \d+/\d+/\d+, score [01]\.\d\d$", out, flags=re.MULTILINE), out
    assert re.search(r"^model version \d+: best \S+, value [+-]\d\.\d\d, pv \S", out, flags=re.MULTILINE), out
    run = tmp_path / "runs" / "python-example"
    assert (run / "checkpoints" / "latest").is_file() and (run / "evaluation.sqlite").is_file()
