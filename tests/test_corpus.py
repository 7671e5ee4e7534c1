"""The shipped corpus (training_data/) keeps the promises of its datasheet."""

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from autocode.io.study import load_study

CORPUS = Path(__file__).resolve().parents[1] / "training_data"
WORD = re.compile(r"[a-z0-9']+")


@pytest.fixture(scope="module")
def study():
    return load_study(CORPUS)  # also checks every coding: known code, in bounds, quote matches


def participant_turns(t):
    return [u for u in t.turns if not u.is_interviewer]


def test_design(study):
    assert len(study.transcripts) >= 24
    roles = Counter(study.participants[t.participant]["role"] for t in study.transcripts)
    assert roles["physician"] >= 12 and roles["non-physician"] >= 12
    for attrs in study.participants.values():
        assert {"pseudonym", "role", "job_title", "organisation_type", "gender"} <= set(attrs)
    types = Counter(a["organisation_type"] for a in study.participants.values())
    assert set(types) == {"mental health trust", "acute trust", "clinical commissioning group", "regional body"}


def test_interview_length(study):
    for t in study.transcripts:
        words = sum(len(t.turn_text(u).split()) for u in t.turns)
        assert 1500 <= words <= 3000, (t.id, words)


def test_codings_lie_in_participant_turns(study):
    for coder, spans in study.codings.items():
        turns = {t.id: participant_turns(t) for t in study.transcripts}
        for s in spans:
            assert any(u.start <= s.start and s.end <= u.end for u in turns[s.transcript]), (coder, s)


def test_minimum_counts(study):
    book = study.codebook
    spans = study.codings["coder_a"]
    occurrences, people = Counter(), defaultdict(set)
    pid = {t.id: t.participant for t in study.transcripts}
    for s in spans:
        for code in [s.code] + book.ancestors(s.code):
            occurrences[code] += 1
            people[code].add(pid[s.transcript])
    for code in book.leaves():
        assert occurrences[code] >= 8 and len(people[code]) >= 5, (code, occurrences[code], len(people[code]))
    for code in book.at_depth(1):
        assert occurrences[code] >= 30, (code, occurrences[code])


def test_at_least_a_third_of_participant_text_is_uncoded(study):
    coded = total = 0
    by_transcript = defaultdict(list)
    for s in study.codings["coder_a"]:
        by_transcript[s.transcript].append(s)
    for t in study.transcripts:
        mask = [False] * len(t.text)
        for s in by_transcript[t.id]:
            mask[s.start : s.end] = [True] * (s.end - s.start)
        for u in participant_turns(t):
            total += sum(not c.isspace() for c in t.text[u.start : u.end])
            coded += sum(m and not c.isspace() for m, c in zip(mask[u.start : u.end], t.text[u.start : u.end]))
    assert (total - coded) / total >= 1 / 3


def test_few_word_8grams_repeat_across_interviews(study):
    seen = defaultdict(set)
    for t in study.transcripts:
        for u in t.turns:
            words = WORD.findall(t.turn_text(u).lower())
            for i in range(len(words) - 7):
                seen[tuple(words[i : i + 8])].add(t.id)
    shared = sum(len(ids) > 1 for ids in seen.values())
    assert shared / len(seen) < 0.02, shared / len(seen)


def test_second_coder_and_heldout_split(study):
    assert len(study.coder_transcripts("coder_b")) >= 8
    heldout = study.settings.heldout
    assert len(heldout) >= 6
    roles = Counter(study.participants[t.participant]["role"] for t in study.transcripts if t.id in heldout)
    assert roles["physician"] == roles["non-physician"]


def test_grades_echo_the_study(study):
    from autocode.pipeline import grade_study

    rows = {r.code: r for r in grade_study(CORPUS, CORPUS / "codings" / "coder_a.jsonl") if r.group == "all"}
    assert rows["tension.administrative"].grade == "Strong"
    assert rows["tension.partnering"].grade == "Strong"
    interpersonal = [rows[c].spread for c in ("driver.physician_nonphysician_differences", "driver.interprofessional_relationship")]
    others = [rows[c].spread for c in ("driver.time_pressures", "driver.financial_context", "driver.medical_subculture")]
    assert min(interpersonal) > max(others)
    tactics = {c: rows[c].spread for c in rows if c.count(".") == 2 and c.startswith("strategy.")}
    top_two = sorted(tactics, key=tactics.get)[-2:]
    assert set(top_two) == {"strategy.proactive_communication.engagement", "strategy.breaking_down_silos.common_ground"}
    assert {"Strong", "Moderate", "Weaker"} <= {r.grade for r in rows.values()}
