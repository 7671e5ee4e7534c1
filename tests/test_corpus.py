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


def interviews(study):
    return [t for t in study.transcripts if t.setting == "interview"]


def focus_groups(study):
    return [t for t in study.transcripts if t.setting == "focus group"]


def span_owner(study, span):
    """The participant whose turn holds ``span``."""
    t = next(t for t in study.transcripts if t.id == span.transcript)
    turn = next(u for u in participant_turns(t) if u.start <= span.start and span.end <= u.end)
    return t.participant_of(turn), turn.index


def test_design(study):
    assert len(interviews(study)) >= 24
    roles = Counter(study.participants[t.participant]["role"] for t in interviews(study))
    assert roles["physician"] >= 12 and roles["non-physician"] >= 12
    for attrs in study.participants.values():
        assert {"pseudonym", "role", "job_title", "organisation_type", "gender"} <= set(attrs)
    types = Counter(a["organisation_type"] for a in study.participants.values())
    assert set(types) == {"mental health trust", "acute trust", "clinical commissioning group", "regional body"}


def test_interview_length(study):
    for t in interviews(study):
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
    for s in spans:
        for code in [s.code] + book.ancestors(s.code):
            occurrences[code] += 1
            people[code].add(span_owner(study, s)[0])
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


def test_focus_groups(study):
    groups = focus_groups(study)
    assert len(groups) >= 2
    heldout = set(study.settings.heldout)
    in_interviews = {t.participant for t in interviews(study)}
    for t in groups:
        assert t.id not in heldout  # focus groups are training data
        assert 4 <= len(t.participants) <= 6, (t.id, t.participants)
        assert all(p in study.participants for p in t.participants)
        assert any(u.is_interviewer for u in t.turns)  # a facilitator, whose talk is never coded
        words = sum(len(t.turn_text(u).split()) for u in t.turns)
        assert 2500 <= words <= 3500, (t.id, words)
        assert set(t.participants) & in_interviews  # some people speak in an interview and a focus group
        assert set(t.participants) - in_interviews  # and some are new
    for pid in {p for t in groups for p in t.participants}:
        assert study.participants[pid]["setting"] in ("focus group", "focus group; interview")


def test_focus_group_coding(study):
    ids = {t.id for t in focus_groups(study)}
    spans = [s for s in study.codings["coder_a"] if s.transcript in ids]
    assert len(spans) >= 40
    seen = Counter()
    for s in spans:
        pid, turn = span_owner(study, s)
        seen[(s.transcript, pid, turn, s.code)] += 1
    assert max(seen.values()) == 1  # a participant's occurrences of a code lie in separate turns
    coded_people = {pid for (_, pid, _, _) in seen}
    assert coded_people == {p for t in focus_groups(study) for p in t.participants}


def test_spread_counts_participants_across_transcripts(study):
    from autocode.pipeline import grade_study

    rows = grade_study(CORPUS, CORPUS / "codings" / "coder_a.jsonl", by=["setting"])
    people = {p for t in study.transcripts for p in t.participants}
    assert len(people) < sum(len(t.participants) for t in study.transcripts)  # some speak twice
    everyone = {r.code: r for r in rows if r.group == "all"}
    assert everyone["tension"].participants == len(people)
    groups = {r.group: r.participants for r in rows if r.code == "tension"}
    assert groups["setting=interview"] == len(interviews(study))
    assert groups["setting=focus group"] == len({p for t in focus_groups(study) for p in t.participants})
