"""Draw the coding plan for the authored corpus (run once; its output guides the writers).

For every category we first choose which participants raise it (its spread), then give each of
its fine codes a subset of those participants and an occurrence count of 1 or 2 per participant,
so that the category and code spreads land in the grades the study reported. The plan is
written to corpus_src/plan.csv; the finished corpus is measured again from its codings.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# category: (participants raising it, minimum occurrences, {fine code: participants},
#            role bias: weight for physicians relative to non-physicians)
PLAN = {
    "tension.administrative": (18, 30, {"service_delivery": 11, "service_improvement": 12, "contracting": 6}, 0.8),
    "tension.partnering": (19, 32, {"dual_roles": 11, "competing_demands": 8, "joint_decisions": 12}, 1.1),
    "tension.talent_management": (12, 30, {"hiring_firing": 6, "staffing": 7, "training_needs": 6}, 1.0),
    "tension.clinical": (13, 30, {"bed_management": 8, "care_foci": 6, "follow_up": 5, "referral_pathways": 6}, 1.2),
    "driver.physician_nonphysician_differences": (20, 32, {"leadership_priorities": 16, "role_understanding": 11}, 1.0),
    "driver.interprofessional_relationship": (19, 32, {"personalities": 10, "communication": 12, "role_ambiguity": 8}, 1.0),
    "driver.time_pressures": (13, 30, {}, 1.3),
    "driver.financial_context": (13, 30, {}, 0.7),
    "driver.medical_subculture": (11, 30, {}, 2.0),
    "strategy.proactive_communication": (19, 32, {"engagement": 16, "peer_advantage": 7, "problem_focus": 8}, 1.0),
    "strategy.breaking_down_silos": (17, 32, {"common_ground": 15, "trust": 10, "creating_time": 8}, 1.0),
    "strategy.institutionalizing_partnership": (8, 30, {"work_groups": 6, "away_days": 5, "coaching": 5}, 1.0),
}


def weighted_sample(rng, people, k, weight):
    pool = list(people)
    chosen = []
    for _ in range(k):
        weights = [weight(p) for p in pool]
        pick = rng.choices(pool, weights=weights)[0]
        chosen.append(pick)
        pool.remove(pick)
    return chosen


def main(seed: int = 7) -> None:
    rng = random.Random(seed)
    with open(ROOT / "training_data" / "participants.csv", newline="") as fh:
        people = {row["participant_id"]: row["role"] for row in csv.DictReader(fh)}
    load = {p: 0 for p in people}
    rows = []
    for category, (spread, min_occ, codes, bias) in PLAN.items():
        def weight(p, bias=bias):
            base = bias if people[p] == "physician" else 1.0
            return base / (1 + load[p]) ** 2

        members = weighted_sample(rng, people, spread, weight)
        assignment = {}  # (participant, code) -> occurrences
        if not codes:
            for p in members:
                assignment[(p, category)] = 1
        else:
            uncovered = set(members)
            for code, k in codes.items():
                first = [p for p in members if p in uncovered][:k]
                rest = weighted_sample(rng, [p for p in members if p not in first], k - len(first), lambda p: 1.0)
                for p in first + rest:
                    assignment[(p, f"{category}.{code}")] = 1
                    uncovered.discard(p)
            assert not uncovered, category
        # raise occurrences to 2 until the code and category minimums hold
        def total(code=None):
            return sum(n for (p, c), n in assignment.items() if code is None or c == code)

        for code in {c for (_, c) in assignment}:
            while total(code) < 10:
                singles = [key for key, n in assignment.items() if key[1] == code and n == 1]
                assignment[rng.choice(singles)] = 2
        while total() < min_occ + 3:
            singles = [key for key, n in assignment.items() if n == 1]
            if singles:
                assignment[rng.choice(singles)] = 2
            else:
                assignment[rng.choice(list(assignment))] += 1
        for (p, code), n in assignment.items():
            load[p] += n
            rows.append((p, code, n))
    rows.sort()
    out = ROOT / "corpus_src" / "plan.csv"
    out.parent.mkdir(exist_ok=True)
    with open(out, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["participant_id", "code", "occurrences"])
        writer.writerows(rows)
    for p in people:
        print(p, people[p], sum(n for q, _, n in rows if q == p), len([1 for q, _, _ in rows if q == p]))


if __name__ == "__main__":
    main()
