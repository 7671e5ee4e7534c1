import numpy as np
import pytest

from autocode.config import DEFAULT_INTERVIEWER_LABELS, ProjectionConfig, SegmentConfig
from autocode.io.codings import Span
from autocode.io.transcripts import parse_transcript
from autocode.labels import project_spans
from autocode.segment import Segment, segment_transcript

TEXT = (
    "Interviewer: What happened?\n\n"
    "P01: We had no beds. The ward was full. It rained.\n\n"
    "Then we talked.\n\n"
    "Interviewer: And then?\n\n"
    "P01: It got better. Much better.\n"
)


@pytest.fixture()
def transcript():
    return parse_transcript(TEXT, "T1", DEFAULT_INTERVIEWER_LABELS)


def test_sentence_segments_cover_only_participant_turns(transcript):
    segs = segment_transcript(transcript, SegmentConfig(unit="sentence"))
    assert [s.text for s in segs] == ["We had no beds.", "The ward was full.", "It rained.", "Then we talked.",
                                      "It got better.", "Much better."]
    for s in segs:
        assert TEXT[s.start : s.end] == s.text and s.speaker == "P01" and s.participant == "T1"
    assert segs[0].context == "What happened?" and segs[-1].context == "And then?"
    assert len({s.turn for s in segs}) == 2


def test_turn_and_window_units(transcript):
    turns = segment_transcript(transcript, SegmentConfig(unit="turn"))
    assert [s.text.split()[0] for s in turns] == ["We", "It"]
    windows = segment_transcript(transcript, SegmentConfig(unit="window", window=2))
    assert [s.text for s in windows] == ["We had no beds. The ward was full.", "It rained.\n\nThen we talked.",
                                         "It got better. Much better."]


def test_segments_never_cross_a_blank_line_without_punctuation():
    t = parse_transcript("Interviewer: Go on\n\nP01: first part with no stop\n\nsecond part\n", "T", DEFAULT_INTERVIEWER_LABELS)
    assert [s.text for s in segment_transcript(t, SegmentConfig(unit="sentence"))] == ["first part with no stop", "second part"]


def _seg(start, end):
    return Segment(f"T:{start}", "T", "P", "P", 0, start, end, "x" * (end - start))


@pytest.mark.parametrize(
    "spans, expected",
    [
        ([(0, 60)], [True, False]),  # covers 60% of segment 0
        ([(0, 40)], [True, False]),  # 40% of segment 0, but all of the span lies inside it
        ([(95, 125)], [False, True]),  # 25 of the span's 30 characters lie in segment 1
        ([(50, 150)], [True, True]),  # half of each segment, half of the span in each
        ([(0, 30), (30, 55)], [True, False]),  # merged spans cover 55%
    ],
)
def test_projection_rule(mini_codebook, spans, expected):
    segs = [_seg(0, 100), _seg(100, 200)]
    rows = [Span("T", a, b, "tension.beds", "c") for a, b in spans]
    Y = project_spans(segs, rows, mini_codebook, ProjectionConfig())
    assert list(Y[:, mini_codebook.index["tension.beds"]]) == expected
    assert list(Y[:, mini_codebook.index["tension"]]) == expected  # closed upwards


def test_projection_span_share_labels_a_long_segment_holding_a_short_span(mini_codebook):
    segs = [_seg(0, 100)]
    Y = project_spans(segs, [Span("T", 10, 30, "strategy.talking", "c")], mini_codebook, ProjectionConfig())
    assert Y[0, mini_codebook.index["strategy.talking"]]
    strict = ProjectionConfig(min_span_share=1.0, min_segment_share=0.5)
    assert project_spans(segs, [Span("T", 10, 30, "strategy.talking", "c")], mini_codebook, strict)[0].any()
    assert not project_spans(segs, [Span("T", 90, 130, "strategy.talking", "c")], mini_codebook, strict)[0].any()
    Y = project_spans(segs, [Span("T", 90, 130, "strategy.talking", "c")], mini_codebook, ProjectionConfig())
    assert not Y[0].any()  # 10 of 100 chars, and only 25% of the span


def test_projection_ignores_other_transcripts(mini_codebook):
    Y = project_spans([_seg(0, 100)], [Span("OTHER", 0, 100, "tension.beds", "c")], mini_codebook)
    assert not np.asarray(Y).any()
