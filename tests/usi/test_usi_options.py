"""USI options: declarations in the `usi` answer, typed parsing, case-insensitive names, implicit options."""

import pytest

from keisei.usi.options import ENGINE_OPTIONS, OptionValues
from keisei.usi.thinking import value_to_cp


def test_declarations_show_current_values_and_types() -> None:
    values = OptionValues("/models/my net.pt")
    values.set("nodeslimit", "128")
    lines = values.declarations()
    assert lines[0] == "option name ModelFile type filename default /models/my net.pt"
    assert "option name NodesLimit type spin default 128 min 0 max 100000000" in lines
    assert "option name SearchAlgorithm type combo default puct var puct var gumbel var policy" in lines
    assert len(lines) == len(ENGINE_OPTIONS) + 2  # and the two aliases of DrawPly
    # the reserved options are declared (tournament managers refuse an engine without them), as are the draw
    # ply limit's names in the YaneuraOu and dlshogi families (issue 18)
    assert "option name USI_Hash type spin default 256 min 0 max 1073741824" in lines
    assert "option name USI_Ponder type check default false" in lines
    assert "option name MaxMovesToDraw type spin default 0 min 0 max 100000" in lines
    assert "option name Draw_Ply type spin default 0 min 0 max 100000" in lines
    assert values.set("MaxMovesToDraw", "256") == "DrawPly" and values["DrawPly"] == 256
    assert values.set("draw_ply", "300") == "DrawPly" and values["DrawPly"] == 300
    assert "option name MaxMovesToDraw type spin default 300 min 0 max 100000" in values.declarations()


def test_set_parses_types_and_names_the_problem() -> None:
    values = OptionValues()
    assert values.set("USI_Hash", "1024") == "USI_Hash"
    assert values.set("usi_ponder", "TRUE") == "USI_Ponder" and values["USI_Ponder"] is True
    assert values.set("SearchAlgorithm", "Gumbel") == "SearchAlgorithm" and values["SearchAlgorithm"] == "gumbel"
    values.set("ModelFile", " /a b/c d.pt ")
    assert values["ModelFile"] == "/a b/c d.pt"
    with pytest.raises(ValueError, match=r"option MultiPV: 0 is outside \[1, 20\]"):
        values.set("MultiPV", "0")
    with pytest.raises(ValueError, match="option Threads: 'two' is not an integer"):
        values.set("Threads", "two")
    with pytest.raises(ValueError, match="is not one of puct, gumbel, policy"):
        values.set("SearchAlgorithm", "alphabeta")
    with pytest.raises(KeyError):
        values.set("Hash", "16")


def test_value_to_cp_is_the_stated_logistic_scale() -> None:
    assert value_to_cp(0.0) == 0
    assert value_to_cp(0.5) == 659 and value_to_cp(-0.5) == -659  # 600 * ln(0.75 / 0.25)
    assert value_to_cp(0.9) == 1767  # 1200 * atanh(0.9) = 1766.7
    assert value_to_cp(1.0) == 30000 and value_to_cp(-1.0) == -30000 and value_to_cp(-0.9999999) == -10087
