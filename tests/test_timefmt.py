"""ETA text reads like a duration (two units), never like a clock time."""

import math

import pytest

from keisei.timefmt import eta_text, format_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (45.9, "45 s"), (200, "3 min 20 s"), (60, "1 min 00 s"), (3600, "1 h 00 min"),
    (15 * 3600 + 4 * 60 + 59, "15 h 04 min"), (2 * 86_400 + 3 * 3600 + 7, "2 d 03 h"), (-5, "0 s"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert ":" not in text


def test_unknown_durations_are_question_marks():
    assert format_duration(None) == "?" and format_duration(math.inf) == "?" and format_duration(math.nan) == "?"
    assert eta_text(0, 10, 5.0) == "?"
    assert eta_text(10, 10, 5.0) == "0 s"
    assert eta_text(2, 10, 50.0) == "3 min 20 s"  # 25 s a game, 8 games left
