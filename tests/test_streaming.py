"""A run codes a batch as a stream: transcripts are coded a group at a time, written out and
tallied as they come, and grades, review list and outputs equal those computed on the whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autocode import batch, pipeline
from autocode.classifiers.base import load_model
from autocode.coding_pass import code_study
from autocode.config import SegmentConfig
from autocode.grading import GradeRow, grade, grade_tally, tally_for
from autocode.io.study import load_study
from autocode.machine_grades import review_rows
from autocode.quantify import counts_of, participant_counts
from autocode.segment import segment_all
from tests.test_resume import snapshot

FOCUS = Path(__file__).parent / "fixtures" / "focus"


def coded_at_random(study, seed: int = 0):
    segments = segment_all(study.transcripts, study.config.segment)
    rng = np.random.default_rng(seed)
    P = rng.random((len(segments), len(study.codebook)))
    return segments, P, study.codebook.closure(P > 0.7)


def by_transcript(segments):
    parts: dict[str, list[int]] = {}
    for i, s in enumerate(segments):
        parts.setdefault(s.transcript, []).append(i)
    return list(parts.values())


@pytest.mark.parametrize("by", [(), ("role",), ("setting",), ("role", "setting")])
def test_grades_tallied_transcript_by_transcript_equal_grades_of_the_whole(by):
    study = load_study(FOCUS)  # focus groups: 'setting' groups talk, 'role' groups participants
    segments, _, Y = coded_at_random(study)
    tally = tally_for(study.codebook, study.participants, by)
    for rows in by_transcript(segments):
        tally.add([segments[i] for i in rows], Y[rows])
    whole = grade(segments, Y, study.codebook, participants=study.participants, by=by)
    assert grade_tally(tally, study.codebook, participants=study.participants, by=by) == whole
    groups = {r.group for r in whole}
    assert (len(groups) > 1) == bool(by)


def test_participant_counts_add_up_over_transcripts(mini):
    study = load_study(mini)
    segments, P, Y = coded_at_random(study, seed=1)
    tally = tally_for(study.codebook, study.participants, ())
    for rows in by_transcript(segments):
        tally.add([segments[i] for i in rows], Y[rows], P[rows])
    whole, parts = participant_counts(segments, P, Y), counts_of(tally)
    assert parts.participants == whole.participants
    for name in ("runs", "positives", "expected", "segments"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=0, atol=1e-9)
    assert whole.segments.sum() == len(segments) and whole.runs.sum() > 0


def test_review_rows_name_each_participants_most_likely_segments_ties_to_the_earlier(mini):
    study = load_study(mini)
    segments, P, _ = coded_at_random(study, seed=2)
    P = np.round(P, 1)  # plenty of ties
    code = study.codebook.ids[0]
    row = GradeRow(code, "theme", "x", "all", 5, 2, 3, 1.5, "Weaker", "", review=True)
    pid = segments[0].participant
    targets = [(row, pid, 0.5)]
    chunks = [([segments[i] for i in rows], P[rows]) for rows in by_transcript(segments)]
    got = review_rows(targets, study.codebook, iter(chunks), per_participant=3)
    mine = [i for i, s in enumerate(segments) if s.participant == pid]
    expected = sorted(mine, key=lambda i: -P[i, 0])[:3]  # stable: ties keep text order
    assert [r["segment"] for r in got] == [segments[i].id for i in expected]
    assert [r["confidence"] for r in got] == [round(float(P[i, 0]), 4) for i in expected]
    assert all(r["participant"] == pid and r["presence_probability"] == 0.5 for r in got)


def test_transcripts_are_yielded_before_the_batch_is_segmented(mini, mini_model, tmp_path, monkeypatch):
    study = load_study(mini)
    model = load_model(mini_model, study.codebook)
    seen: list[str] = []
    real = batch.segment_transcript

    def counting(t, config):
        seen.append(t.id)
        return real(t, config)

    monkeypatch.setattr(batch, "segment_transcript", counting)
    monkeypatch.setattr(batch, "GROUP_SEGMENTS", 1)
    stream = batch.code_transcripts(study.transcripts, model, study.codebook, SegmentConfig(), tmp_path)
    first = next(stream)
    assert first.transcript.id == study.transcripts[0].id and seen == [first.transcript.id]
    assert (tmp_path / "coded" / f"{first.transcript.id}.json").is_file()
    rest = [c.transcript.id for c in stream]
    assert [first.transcript.id, *rest] == [t.id for t in study.transcripts] == seen


def test_only_the_human_coders_transcripts_are_kept_whole(mini, mini_model, tmp_path):
    study = load_study(mini)
    model = load_model(mini_model, study.codebook)
    config = SegmentConfig()
    (tmp_path / "a").mkdir()
    alone = code_study(tmp_path / "a", study, model, config, (), set())
    assert alone.kept == [] and alone.spans == []
    assert alone.segments == sum(alone.tally.segments.values()) == len(segment_all(study.transcripts, config))
    (tmp_path / "b").mkdir()
    some = code_study(tmp_path / "b", study, model, config, (), {"M02"}, export_as="machine")
    assert [segs[0].transcript for segs, _, _ in some.kept] == ["M02"] and some.spans


@pytest.mark.parametrize("group", [1, 7])
def test_the_output_does_not_depend_on_the_group_size(mini, mini_model, tmp_path, monkeypatch, group):
    pipeline.run(mini, tmp_path / "whole", mini_model, export="qdpx")
    monkeypatch.setattr(batch, "GROUP_SEGMENTS", group)
    pipeline.run(mini, tmp_path / "small", mini_model, export="qdpx")
    assert snapshot(tmp_path / "small") == snapshot(tmp_path / "whole")
    for name in ("M02.json", "M04.json"):  # resumed with reused transcripts between coded ones
        (tmp_path / "small" / "coded" / name).unlink()
    resumed = pipeline.run(mini, tmp_path / "small", mini_model, export="qdpx", resume=True)
    assert resumed.reused == 3 and snapshot(tmp_path / "small") == snapshot(tmp_path / "whole")


def test_the_zero_shot_embedding_cache_is_bounded(monkeypatch):
    from autocode.classifiers import zeroshot
    from tests.tiny_models import tiny_bert

    clf = zeroshot.ZeroShotClassifier([["the ward beds"], ["budget cost savings"]], base=tiny_bert()).fit()
    texts = ["the ward was full", "budget cut", "coffee", "we talked", "the ward was full"]
    expected = clf.predict_proba(texts)
    monkeypatch.setattr(zeroshot, "CACHE_ENTRIES", 2)
    monkeypatch.setattr(zeroshot, "_CACHE", type(zeroshot._CACHE)())
    np.testing.assert_array_equal(clf.predict_proba(texts), expected)
    assert len(zeroshot._CACHE) == 2
    assert [text for _, text in zeroshot._CACHE] == ["coffee", "we talked"]  # the most recently used stay
