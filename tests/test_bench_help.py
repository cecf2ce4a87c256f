"""Every benchmark's --help shows the default of every option (issue 18: bench help showed none)."""

import re

import pytest

from keisei.cli import build_parser


@pytest.mark.parametrize("bench", ["env", "learn", "usi", "search", "train", "parallel"])
def test_bench_help_shows_every_default(bench, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", bench, "--help"])
    text = capsys.readouterr().out
    options = [o for o in re.findall(r"^\s+(--[a-z-]+)", text, re.MULTILINE) if o != "--help"]
    assert options
    body = re.sub(r"\s+", " ", text.split("options:", 1)[1])
    for option, nxt in zip(options, [*options[1:], None]):
        chunk = body.split(f" {option}", 1)[1]
        chunk = chunk.split(f" {nxt}", 1)[0] if nxt else chunk
        assert "(default:" in chunk, (bench, option)
