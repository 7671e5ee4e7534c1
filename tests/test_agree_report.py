"""The agreement report on the fixture study: five levels, three formats, disagreements and the
reconciled coding read back for training."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from autocode.agree_report import (FILES, Coding, agreement_report, machine_coding, read_coding, read_reconciled,
                                   write_reconciled)
from autocode.errors import AutocodeError
from autocode.io.study import load_study
from autocode.labels import project_spans
from autocode.pipeline import agree, segments_for

MINI = Path(__file__).parent / "fixtures" / "mini"

A = MINI / "codings" / "coder_a.jsonl"
B = MINI / "codings" / "coder_b.jsonl"
LEVELS = ["dimension", "category", "code", "fine"]


def strict_json(path: Path) -> dict:
    def no_nan(value):
        raise AssertionError(f"{value} in JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_nan)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("agree") / "out"
    agreement_report(MINI, [A, B], out, n_boot=200)
    return out


def test_writes_every_file_and_level(report_dir):
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(FILES)
    data = strict_json(report_dir / "agreement.json")
    assert data["reference"] == "coder_a" and [c["name"] for c in data["coders"]] == ["coder_a", "coder_b"]
    (pair,) = data["pairs"]
    assert pair["transcripts"] == ["M01", "M02", "M03", "M04", "M05"] and pair["participants"] == 5
    for level in LEVELS:
        seg = pair["segment"]["levels"][level]
        assert {"kappa", "alpha", "ac1", "percent", "precision", "recall", "f1", "micro_f1"} <= set(seg)
        assert set(seg["ci"]) >= {"kappa", "alpha", "ac1", "f1"}
        assert {"kappa", "alpha", "percent"} <= set(pair["character"]["levels"][level])
        assert "alpha_binary" in pair["unitizing"]["levels"][level]
        assert "agreement" in pair["unitizing"]["overlap"]["levels"][level]
        assert {"kappa", "percent"} <= set(pair["participant"]["levels"][level])
        assert {"codes", "matching", "share"} <= set(pair["grade"]["levels"][level])
    n_codes = len(data["codebook"]["codes"])
    for family in (pair["segment"]["codes"], pair["character"]["codes"], pair["unitizing"]["codes"],
                   pair["unitizing"]["overlap"]["codes"], pair["participant"]["codes"], pair["grade"]["rows"]):
        assert len(family) == n_codes
    assert pair["unitizing"]["domains"][0]["domain"] == "(top level)"
    assert "cu_alpha" in pair["unitizing"]["levels"]["category"]
    assert len(pair["participant"]["matrix"]["a"]) == 5 and len(pair["participant"]["matrix"]["a"][0]) == n_codes
    assert any("fewer than 10 coded segments" in w for w in pair["warnings"])
    assert all(r["warning"] for r in pair["segment"]["codes"])  # every mini code has under 10 segments

    md = (report_dir / "agreement.md").read_text(encoding="utf-8")
    for heading in ("### 1. Segment level", "### 2. Character level", "### 3. Unitizing", "### 4. Participant level",
                    "### 5. Grade level", "## Disagreements"):
        assert heading in md
    html = (report_dir / "agreement.html").read_text(encoding="utf-8")
    assert "chart-forest" in html and "chart-heatmap" in html and 'class="evidence"' in html
    rows = list(csv.DictReader(io.StringIO((report_dir / "agreement.csv").read_text(encoding="utf-8"))))
    assert len(rows) == n_codes and rows[0]["grade_match"] in {"yes", "no"}
    listed = list(csv.DictReader(io.StringIO((report_dir / "disagreements.csv").read_text(encoding="utf-8"))))
    assert len(listed) == data["disagreements"] > 0
    assert {"text", "codes:coder_a", "codes:coder_b", "differing", "machine_confidence", "reconciled"} <= set(listed[0])


def test_segment_level_matches_existing_agree(report_dir):
    rows, summary, n = agree(MINI, A, B)
    pair = strict_json(report_dir / "agreement.json")["pairs"][0]
    for old, new in zip(rows, pair["segment"]["codes"]):
        assert old.code == new["code"] and (old.count_a, old.count_b) == (new["count_a"], new["count_b"])
        for f in ("kappa", "f1", "percent"):
            x, y = getattr(old, f), new[f]
            assert (math.isnan(x) and y is None) or x == pytest.approx(y)
    for level in LEVELS:
        assert summary[level]["kappa"] == pytest.approx(pair["segment"]["levels"][level]["kappa"])
        assert summary[level]["micro_f1"] == pytest.approx(pair["segment"]["levels"][level]["micro_f1"])


def test_perfect_agreement_and_unused_codes(tmp_path):
    report = agreement_report(MINI, [A, A], n_boot=50)
    pair = report.pair()
    assert pair["b"] == "coder_a_2" and report.disagreements == []
    for family, key in ((pair["segment"]["codes"], "kappa"), (pair["character"]["codes"], "kappa"),
                        (pair["unitizing"]["codes"], "alpha_binary"), (pair["unitizing"]["overlap"]["codes"], "agreement"),
                        (pair["participant"]["codes"], "kappa")):
        assert all(r[key] in (None, pytest.approx(1.0)) for r in family), key
    assert pair["grade"]["levels"]["all"]["share"] == 1.0
    assert all(d["cu_alpha"] in (None, pytest.approx(1.0)) for d in pair["unitizing"]["domains"])

    # a code that neither coder used is undefined, never an error
    only = tmp_path / "beds.jsonl"
    lines = [line for line in A.read_text(encoding="utf-8").splitlines() if '"tension.beds"' in line]
    only.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pair = agreement_report(MINI, [only, only], n_boot=0).pair()
    strategy = next(r for r in pair["segment"]["codes"] if r["code"] == "strategy")
    assert strategy["kappa"] is None and strategy["alpha"] is None and strategy["percent"] == 1.0
    assert "neither coder" in strategy["warning"]


def test_single_coding_and_disjoint_codings_are_refused(tmp_path):
    with pytest.raises(AutocodeError, match="at least two codings"):
        agreement_report(MINI, [A])
    first = tmp_path / "m01.jsonl"
    second = tmp_path / "m02.jsonl"
    lines = A.read_text(encoding="utf-8").splitlines()
    first.write_text("\n".join(x for x in lines if '"M01"' in x) + "\n", encoding="utf-8")
    second.write_text("\n".join(x for x in lines if '"M02"' in x) + "\n", encoding="utf-8")
    with pytest.raises(AutocodeError, match="share no transcript"):
        agreement_report(MINI, [first, second])


def test_output_folder_rules(mini, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(AutocodeError, match="--force"):
        agreement_report(mini, [mini / "codings/coder_a.jsonl", mini / "codings/coder_b.jsonl"], out, n_boot=0)
    with pytest.raises(AutocodeError, match="input"):
        agreement_report(mini, [mini / "codings/coder_a.jsonl", mini / "codings/coder_b.jsonl"], mini, force=True, n_boot=0)
    report = agreement_report(mini, [mini / "codings/coder_a.jsonl", mini / "codings/coder_b.jsonl"], out, force=True, n_boot=0)
    assert report.out == out and sorted(report.files) == sorted(FILES) and not (out / "keep.txt").exists()
    assert report.pair()["segment"]["levels"]["category"]["ci"]["kappa"] == [None, None]  # no bootstrap


def test_exclude_uncoded_lowers_character_agreement():
    with_all = agreement_report(MINI, [A, B], n_boot=0).pair()["character"]
    coded = agreement_report(MINI, [A, B], n_boot=0, exclude_uncoded=True).pair()["character"]
    assert coded["exclude_uncoded"] and coded["characters"] < with_all["characters"]
    for r_all, r_coded in zip(with_all["codes"], coded["codes"]):
        assert r_coded["percent"] <= r_all["percent"] + 1e-12
        assert r_coded["both"] == r_all["both"]
    whole = agreement_report(MINI, [A, B], n_boot=0, universe="transcript").pair()["character"]
    assert whole["characters"] > with_all["characters"]


def _machine_file(folder: Path) -> Path:
    """A segments.jsonl as ``autocode run`` writes it: coder_b's coding on segments, with confidences."""
    study = load_study(MINI)
    segments = segments_for(study, study.config.segment)
    Y = project_spans(segments, study.codings["coder_b"], study.codebook)
    lines = []
    for i, seg in enumerate(segments):
        codes = [c for j, c in enumerate(study.codebook.ids) if Y[i, j]]
        lines.append(json.dumps({"id": seg.id, "transcript": seg.transcript, "participant": seg.participant,
                                 "speaker": seg.speaker, "turn": seg.turn, "start": seg.start, "end": seg.end,
                                 "text": seg.text, "codes": codes, "confidence": {c: 0.8 for c in codes}}))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "segments.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "segments.jsonl"


def test_human_vs_machine_and_three_coders(tmp_path):
    machine = _machine_file(tmp_path / "run")
    report = agreement_report(MINI, [A, B, machine], tmp_path / "out", n_boot=50)
    assert [c["kind"] for c in report.data["coders"]] == ["human", "human", "machine"]
    assert [p["b"] for p in report.pairs] == ["coder_b", "machine"]
    # the machine here is coder_b on segments, so it agrees with coder_b on every segment
    assert report.pair("machine")["segment"]["codes"][0]["kappa"] == report.pair("coder_b")["segment"]["codes"][0]["kappa"]
    pooled = report.data["pooled"]
    assert pooled["coders"] == ["coder_a", "coder_b", "machine"] and "segment_alpha" in pooled["levels"]["category"]
    listed = report.disagreements
    assert listed and all(r["machine_confidence"] for r in listed)
    assert any("=0.80" in r["machine_confidence"] or "not assigned" in r["machine_confidence"] for r in listed)
    assert "All coders together" in (tmp_path / "out" / "agreement.md").read_text(encoding="utf-8")

    # the same comparison from objects, as ``autocode run`` can embed it without a file
    study = load_study(MINI)
    segments = segments_for(study, study.config.segment)
    Y = project_spans(segments, study.codings["coder_b"], study.codebook)
    coding = machine_coding(segments, Y, study.codebook, np.full(Y.shape, 0.8))
    embedded = agreement_report(MINI, [read_coding(A, study), coding], n_boot=0)
    assert embedded.headline()["segment_kappa"] == pytest.approx(report.headline("machine")["segment_kappa"])


def test_reconciled_csv_round_trip(mini, tmp_path):
    out = tmp_path / "out"
    report = agreement_report(mini, [mini / "codings/coder_a.jsonl", mini / "codings/coder_b.jsonl"], out, n_boot=0)
    rows = list(csv.DictReader(io.StringIO((out / "disagreements.csv").read_text(encoding="utf-8"))))
    assert len(rows) >= 3
    # the meeting sides with coder_b on the first row, clears the second, keeps coder_a on the rest
    rows[0]["reconciled"] = rows[0]["codes:coder_b"]
    rows[1]["reconciled"] = "none"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    filled = tmp_path / "reconciled.csv"
    filled.write_text(buf.getvalue(), encoding="utf-8")

    spans = read_reconciled(filled, mini, mini / "codings/coder_a.jsonl")
    assert spans and all(s.coder == "reconciled" for s in spans)
    write_reconciled(spans, mini / "codings" / "reconciled.jsonl", mini)
    study = load_study(mini)  # reads and checks every coding, quoted text included
    assert "reconciled" in study.codings
    segments = segments_for(study, study.config.segment, only=study.coder_transcripts("coder_a"))
    cb = study.codebook
    Ya = project_spans(segments, study.codings["coder_a"], cb)
    Yb = project_spans(segments, study.codings["coder_b"], cb)
    Yr = project_spans(segments, study.codings["reconciled"], cb)
    where = {s.id: i for i, s in enumerate(segments)}
    expected = Ya.copy()
    expected[where[rows[0]["segment"]]] = Yb[where[rows[0]["segment"]]]
    expected[where[rows[1]["segment"]]] = False
    assert (Yr == expected).all()
    assert report.data["disagreements"] == len(rows)

    # and it trains
    from autocode.training import train

    result = train(mini, tmp_path / "model", "tfidf", coder="reconciled", folds=2)
    assert result.transcripts >= 2


def test_reconciled_csv_errors(mini, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("transcript,start,end,reconciled\nM01,0,5,tension.beds\n", encoding="utf-8")
    with pytest.raises(AutocodeError, match="no segment M01 0-5"):
        read_reconciled(bad, mini, mini / "codings/coder_a.jsonl")
    report = agreement_report(mini, [mini / "codings/coder_a.jsonl", mini / "codings/coder_b.jsonl"], n_boot=0)
    row = report.disagreements[0]
    bad.write_text(f"transcript,start,end,reconciled\n{row['transcript']},{row['start']},{row['end']},no.such.code\n",
                   encoding="utf-8")
    with pytest.raises(AutocodeError, match="not in the codebook"):
        read_reconciled(bad, mini, mini / "codings/coder_a.jsonl")
    bad.write_text("transcript,begin\nM01,0\n", encoding="utf-8")
    with pytest.raises(AutocodeError, match="needs the columns"):
        read_reconciled(bad, mini, mini / "codings/coder_a.jsonl")


def test_coding_objects_and_names(tmp_path):
    study = load_study(MINI)
    a = Coding("alice", list(study.codings["coder_a"]), study.coder_transcripts("coder_a"))
    b = Coding("bob", list(study.codings["coder_b"]), study.coder_transcripts("coder_b"))
    report = agreement_report(MINI, [a, b], n_boot=0, title="Test report")
    assert report.data["title"] == "Test report" and report.pair()["a"] == "alice" and report.pair()["b"] == "bob"
    assert "codes:alice" in report.disagreement_columns
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.mark.slow
def test_corpus_two_human_codings(tmp_path):
    root = Path(__file__).resolve().parent.parent / "training_data"
    report = agreement_report(root, [root / "codings/coder_a.jsonl", root / "codings/coder_b.jsonl"], tmp_path / "out")
    assert sorted(report.files) == sorted(FILES)
    head = report.headline()
    assert 0.6 < head["segment_kappa"] < 1 and 0.6 < head["character_kappa"] < 1
    assert len(report.pair()["transcripts"]) == 8
