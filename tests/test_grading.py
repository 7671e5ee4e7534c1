"""Golden cases for the spread-and-depth grader, worked out by hand."""

import numpy as np
import pytest

from autocode.config import GradingConfig
from autocode.grading import grade, grade_for_share
from autocode.segment import Segment

PEOPLE = {"A": {"role": "physician"}, "B": {"role": "non-physician"}, "C": {"role": "physician"},
          "D": {"role": "non-physician"}, "E": {"role": "non-physician"}}


def build(book, layout):
    """layout: participant -> list of turns -> list of sets of codes (one set per segment)."""
    segments, rows = [], []
    for pid, turns in layout.items():
        pos = 0
        for t, turn in enumerate(turns):
            for codes in turn:
                segments.append(Segment(f"{pid}:{pos}", pid, pid, pid, t, pos, pos + 10, "x"))
                row = np.zeros(len(book), dtype=bool)
                for c in codes:
                    row[book.index[c]] = True
                rows.append(row)
                pos += 10
    return segments, np.array(rows)


B, S, T, P = "tension.beds", "tension.money.savings", "strategy.talking", "strategy.patients"
LAYOUT = {
    # A: beds twice in a row (one run), a gap, beds again (second run); a new turn opens a third run
    "A": [[{B}, {B}, set(), {B}], [{B}, set()]],
    "B": [[{B}, set()], [set()]],
    "C": [[set(), {B, T}]],
    "D": [[{S}, set(), {S}], [{S}]],
    "E": [[set()], [set()]],
}


@pytest.fixture()
def rows(mini_codebook):
    segments, Y = build(mini_codebook, LAYOUT)
    return {(r.group, r.code): r for r in grade(segments, Y, mini_codebook, GradingConfig(), PEOPLE, by=["role"])}


def test_runs_within_a_turn_count_once(rows):
    beds = rows[("all", B)]
    assert beds.occurrences == 3 + 1 + 1
    assert beds.spread == 3 and beds.participants == 5
    assert beds.depth == pytest.approx(5 / 3)
    assert beds.grade == "Strong"  # exactly 60%, boundary 'lower'
    assert beds.flag == ""


def test_depth_outside_range_is_flagged(rows):
    savings = rows[("all", S)]
    assert savings.spread == 1 and savings.occurrences == 3 and savings.depth == 3
    assert savings.grade == "Weaker"  # 20% exactly
    assert savings.flag == "depth 3.00 above 2"


def test_categories_are_reported_when_any_child_is(rows):
    tension = rows[("all", "tension")]
    assert tension.spread == 4  # A, B, C (beds) and D (savings)
    assert tension.grade == "Strong"
    money = rows[("all", "tension.money")]
    assert money.spread == 1 and money.occurrences == 3


def test_runs_of_a_parent_merge_different_children(mini_codebook):
    segments, Y = build(mini_codebook, {"A": [[{B}, {S}, set(), {T}]]})
    rows = {r.code: r for r in grade(segments, Y, mini_codebook)}
    assert rows["tension"].occurrences == 1  # beds then savings: one contiguous tension run
    assert rows["tension.beds"].occurrences == 1 and rows["tension.money.savings"].occurrences == 1


def test_unused_code_is_not_graded_and_has_no_depth(rows):
    patients = rows[("all", P)]
    assert patients.spread == 0 and patients.depth is None and patients.grade == "Not graded" and patients.flag == ""


def test_breakdown_by_participant_column(rows):
    phys = rows[("role=physician", B)]
    assert phys.participants == 2 and phys.spread == 2 and phys.grade == "Strong"
    non = rows[("role=non-physician", B)]
    assert non.participants == 3 and non.spread == 1 and non.grade == "Weaker"  # 33%


def test_upper_boundary_rule_moves_exact_thresholds_down(mini_codebook):
    segments, Y = build(mini_codebook, LAYOUT)
    rows = {r.code: r for r in grade(segments, Y, mini_codebook, GradingConfig(boundary="upper"))}
    assert rows[B].grade == "Moderate"  # 60% is no longer Strong
    assert rows[S].grade == "Not graded"  # 20% is no longer Weaker


@pytest.mark.parametrize(
    "spread, total, lower, upper",
    [(15, 24, "Strong", "Strong"), (3, 5, "Strong", "Moderate"), (2, 5, "Moderate", "Weaker"),
     (14, 24, "Moderate", "Moderate"), (1, 5, "Weaker", "Not graded"), (4, 24, "Not graded", "Not graded"),
     (0, 24, "Not graded", "Not graded"), (0, 0, "Not graded", "Not graded")],
)
def test_grade_thresholds_are_exact(spread, total, lower, upper):
    assert grade_for_share(spread, total, GradingConfig()) == lower
    assert grade_for_share(spread, total, GradingConfig(boundary="upper")) == upper


def test_thresholds_are_configurable():
    config = GradingConfig(strong=0.5, moderate=0.3, weaker=0.1, below_weaker="Ungraded")
    assert grade_for_share(1, 2, config) == "Strong"
    assert grade_for_share(0, 20, config) == "Ungraded"
    with pytest.raises(ValueError):
        GradingConfig(strong=0.3, moderate=0.4)


def test_one_function_grades_human_and_machine_coding(mini, mini_model):
    """grade_study grades a human codings file and a run's segments.jsonl alike, by counting."""
    import json
    from collections import defaultdict

    from autocode.pipeline import grade_study, run

    human = {r.code: r for r in grade_study(mini, mini / "codings" / "coder_a.jsonl") if r.group == "all"}
    assert human["tension.beds"].spread == 4 and human["tension.money.contracts"].spread == 3
    run(mini, mini.parent / "out", mini_model)
    rows = [json.loads(line) for line in (mini.parent / "out" / "segments.jsonl").read_text().splitlines()]
    raised = defaultdict(set)
    for row in rows:
        for code in row["codes"]:
            raised[code].add(row["participant"])
    machine = {r.code: r for r in grade_study(mini, mini.parent / "out" / "segments.jsonl") if r.group == "all"}
    assert set(machine) == set(human)
    for code, r in machine.items():
        assert r.spread == len(raised[code]) and r.participants == 5
