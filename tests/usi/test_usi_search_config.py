"""[search] reaches the USI engine: the options it declares default to the config, setoption overrides."""

import argparse

from keisei.commands._search_args import option_defaults, search_config
from keisei.usi.options import OptionValues


def test_search_section_sets_the_declared_defaults_and_setoption_overrides():
    args = argparse.Namespace(config=None, preset=None, overrides=["search.algorithm=gumbel", "search.batch_size=8"])
    search = search_config(args)
    values = OptionValues("net.pt", option_defaults(search))
    declared = values.declarations()
    assert "option name SearchAlgorithm type combo default gumbel var puct var gumbel var policy" in declared
    assert any(line.startswith("option name BatchSize type spin default 8 ") for line in declared)
    values.set("SearchAlgorithm", "puct")
    assert values["SearchAlgorithm"] == "puct" and values["BatchSize"] == 8
