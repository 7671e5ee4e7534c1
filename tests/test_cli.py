import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from autocode.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_help_is_fast_and_does_not_import_heavy_libraries():
    code = "import sys, autocode.cli; print(any(m in sys.modules for m in ('torch', 'sklearn', 'spacy', 'transformers')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    result = invoke("--help")
    assert result.exit_code == 0 and "run" in result.output and "train" in result.output


def test_a_tfidf_run_does_not_import_torch_or_pandas(mini, mini_model, tmp_path):
    """spaCy's thinc would import torch (1.5 s, 190 MB), and scikit-learn pandas (2 s with pyarrow)
    when installed, though neither is needed (autocode.lazy). torch is installed here; where
    pandas is not, that half holds trivially."""
    code = ("import sys; from autocode.cli import app; app(sys.argv[1:], standalone_mode=False); "
            "print('torch' in sys.modules, 'transformers' in sys.modules or 'pandas' in sys.modules)")
    args = ["run", str(mini), "--out", str(tmp_path / "out"), "--model", str(mini_model)]
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False", out.stdout + out.stderr
    assert (tmp_path / "out" / "segments.jsonl").is_file()


def test_train_run_grade_agree_happy_path(mini, tmp_path):
    before = snapshot(mini)
    model = tmp_path / "model"
    result = invoke("train", mini, "--out", model, "--folds", "2")
    assert result.exit_code == 0, result.output
    meta = json.loads((model / "model.json").read_text())
    assert meta["type"] == "tfidf" and meta["codebook"]["codes"][0] == "tension"
    assert "M05" not in meta["training"]["transcripts"]  # held out
    assert "heldout" in meta["metrics"] and (model / "README.md").exists()

    out = tmp_path / "out"
    result = invoke("run", mini, "--model", model, "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("segments.jsonl", "segments.csv", "grades.csv", "grades.md", "comparison.csv", "comparison.md", "run.json"):
        assert (out / name).is_file(), name
    grades = (out / "grades.csv").read_text()
    assert "role=physician" in grades and "strategy.patients" in grades
    record = json.loads((out / "run.json").read_text())
    assert set(record["inputs"]) == {"M01", "M02", "M03", "M04", "M05"}
    first = json.loads((out / "segments.jsonl").read_text().splitlines()[0])
    assert {"transcript", "start", "end", "codes", "confidence"} <= set(first)

    result = invoke("grade", mini, "--coding", mini / "codings" / "coder_a.jsonl")
    assert result.exit_code == 0 and "tension.beds" in result.output and "Strong" in result.output
    result = invoke("agree", mini / "codings" / "coder_a.jsonl", mini / "codings" / "coder_b.jsonl", "--out", tmp_path / "agree")
    assert result.exit_code == 0, result.output
    assert "kappa" in (tmp_path / "agree" / "agreement.md").read_text()
    assert snapshot(mini) == before  # inputs untouched


def test_run_with_the_shipped_default_model_on_the_shipped_codebook(tmp_path):
    from autocode.resources import default_model_path

    if not default_model_path().is_dir():
        pytest.fail("the default model is missing from models/")
    from autocode.pipeline import run

    study = tmp_path / "s"
    (study / "transcripts").mkdir(parents=True)
    (study / "transcripts" / "P1.txt").write_text(
        "Interviewer: What gets in the way?\n\nP1: We have no beds, so patients go out of area. "
        "The finance director wants savings and the consultants want another post.\n"
    )
    result = run(study, tmp_path / "out")
    assert result.segments == 1  # the default model codes windows of two sentences
    from autocode.codebook import load_codebook
    from autocode.resources import default_codebook_path

    graded = {r.code for r in result.grades}
    assert graded == set(load_codebook(default_codebook_path()).ids)


def test_existing_output_needs_force(mini, mini_model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = invoke("run", mini, "--model", mini_model, "--out", out)
    assert_one_line_error(result, "already exists", "--force")
    assert (out / "keep.txt").read_text() == "precious"
    result = invoke("run", mini, "--model", mini_model, "--out", out, "--force")
    assert result.exit_code == 0 and not (out / "keep.txt").exists()


def test_output_inside_the_study_is_refused(mini, mini_model):
    result = invoke("run", mini, "--model", mini_model, "--out", mini, "--force")
    assert_one_line_error(result, "overwrite the input")
    assert (mini / "transcripts" / "M01.txt").exists()


def test_codebook_show_and_validate(mini, tmp_path):
    result = invoke("codebook", "show", mini / "codebook.yaml")
    assert result.exit_code == 0 and "tension.money.savings" in result.output
    result = invoke("codebook", "validate", mini / "codebook.yaml")
    assert result.exit_code == 0 and "valid" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncodes:\n  - id: a\n    label: A\n")
    assert_one_line_error(invoke("codebook", "validate", bad), "bad.yaml", "codes.0.definition")


def test_codebook_export_writes_qdc_that_imports_back(mini, tmp_path):
    out = tmp_path / "book.qdc"
    result = invoke("codebook", "export", mini / "codebook.yaml", "--out", out)
    assert result.exit_code == 0, result.output
    assert invoke("import", out, "--out", tmp_path / "back").exit_code == 0
    from autocode.codebook import load_codebook

    assert load_codebook(tmp_path / "back" / "codebook.yaml").ids == load_codebook(mini / "codebook.yaml").ids
    assert_one_line_error(invoke("codebook", "export", mini / "codebook.yaml", "--out", out), "book.qdc", "--force")
    assert invoke("codebook", "export", mini / "codebook.yaml", "--out", out, "--force").exit_code == 0
    assert_one_line_error(invoke("codebook", "export", mini / "codebook.yaml", "--out", tmp_path / "b.txt"), "b.txt", ".qdc")


def _break(mini, what):
    if what == "empty transcript":
        (mini / "transcripts" / "M02.txt").write_text("")
    elif what == "binary transcript":
        (mini / "transcripts" / "M02.txt").write_bytes(b"\x00\x01PK\x03\x04" * 50)
    elif what == "stray pdf":
        (mini / "transcripts" / "notes.pdf").write_bytes(b"%PDF-1.4 ...")
    elif what == "unknown code":
        with open(mini / "codings" / "coder_a.jsonl", "a") as fh:
            fh.write(json.dumps({"transcript": "M01", "start": 0, "end": 5, "code": "tension.nope"}) + "\n")
    elif what == "span outside text":
        with open(mini / "codings" / "coder_a.jsonl", "a") as fh:
            fh.write(json.dumps({"transcript": "M01", "start": 0, "end": 99999, "code": "tension.beds"}) + "\n")
    elif what == "bad json":
        with open(mini / "codings" / "coder_a.jsonl", "a") as fh:
            fh.write("{not json\n")
    elif what == "duplicate participant":
        with open(mini / "participants.csv", "a") as fh:
            fh.write("M01,physician,acute trust\n")
    elif what == "unknown participant":
        (mini / "participants.csv").write_text("participant_id,role\nM01,physician\n")
    elif what == "bad study.yaml":
        (mini / "study.yaml").write_text("codebook: codebook.yaml\ncolour: blue\n")
    elif what == "no transcripts":
        for p in (mini / "transcripts").iterdir():
            p.unlink()


@pytest.mark.parametrize(
    "what, fragments",
    [
        ("empty transcript", ["M02.txt", "empty"]),
        ("binary transcript", ["M02.txt", "binary"]),
        ("stray pdf", ["notes.pdf", "unsupported"]),
        ("unknown code", ["coder_a.jsonl", "tension.nope", "not in the codebook"]),
        ("span outside text", ["coder_a.jsonl", "outside"]),
        ("bad json", ["coder_a.jsonl", "not valid JSON"]),
        ("duplicate participant", ["participants.csv", "twice"]),
        ("unknown participant", ["participants.csv", "M02"]),
        ("bad study.yaml", ["study.yaml", "colour"]),
        ("no transcripts", ["transcripts", "empty"]),
    ],
)
def test_bad_study_inputs(mini, mini_model, tmp_path, what, fragments):
    _break(mini, what)
    result = invoke("run", mini, "--model", mini_model, "--out", tmp_path / "out")
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["run", "{tmp}/nowhere", "--out", "{tmp}/o"], ["nowhere", "not found"]),
        (["run", "{mini}", "--model", "{tmp}", "--out", "{tmp}/o"], ["model.json is missing"]),
        (["run", "{mini}", "--model", "{model}", "--out", "{tmp}/o", "--coder", "nobody"], ["nobody", "coder_a"]),
        (["run", "{mini}", "--model", "{model}", "--out", "{tmp}/o", "--by", "shoe_size"], ["shoe_size"]),
        (["run", "{mini}", "--model", "{model}", "--out", "{tmp}/o", "--codebook", "{tmp}/none.yaml"], ["none.yaml", "not found"]),
        (["run", "{mini}", "--model", "{model}", "--out", "{tmp}/o", "--config", "{tmp}/cfg.yaml"], ["cfg.yaml", "grading.strong"]),
        (["train", "{mini}", "--out", "{tmp}/m", "--model", "bert9000"], ["bert9000", "tfidf"]),
        (["grade", "{mini}", "--coding", "{tmp}/none.jsonl"], ["none.jsonl", "not found"]),
        (["agree", "{mini}/codings/coder_a.jsonl", "{tmp}/none.jsonl"], ["none.jsonl"]),
    ],
)
def test_bad_arguments(mini, mini_model, tmp_path, args, fragments):
    (tmp_path / "cfg.yaml").write_text("grading:\n  strong: 2\n")
    args = [a.format(tmp=tmp_path, mini=mini, model=mini_model) for a in args]
    assert_one_line_error(invoke(*args), *fragments)


def test_model_for_another_codebook_is_refused(mini, mini_model, tmp_path):
    for path in (mini / "codebook.yaml", mini / "codings" / "coder_a.jsonl", mini / "codings" / "coder_b.jsonl"):
        path.write_text(path.read_text().replace("strategy.patients", "strategy.patients_first"))
    assert_one_line_error(invoke("run", mini, "--model", mini_model, "--out", tmp_path / "o"),
                          "different codebook", "strategy.patients")


def test_import_then_run_with_qdpx_export(mini, mini_model, tmp_path):
    from tests.conftest import FIXTURES

    study = tmp_path / "zoom-study"
    result = invoke("import", FIXTURES / "interop" / "zoom.vtt", "--out", study)
    assert result.exit_code == 0, result.output
    assert (study / "transcripts").is_dir()
    out = tmp_path / "out"
    result = invoke("run", mini, "--model", mini_model, "--out", out, "--export", "qdpx")
    assert result.exit_code == 0, result.output
    assert (out / "project.qdpx").stat().st_size > 0 and (out / "project.confidence.csv").exists()
    back = tmp_path / "back"
    result = invoke("import", out / "project.qdpx", "--out", back)
    assert result.exit_code == 0, result.output
    assert {p.stem for p in (back / "codings").glob("*.jsonl")} >= {"coder_a", "coder_b"}
    for t in (mini / "transcripts").iterdir():
        assert (back / "transcripts" / t.name).read_text() == t.read_text()


def test_import_and_export_bad_input(mini, mini_model, tmp_path):
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"%PDF-1.4")
    assert_one_line_error(invoke("import", notes, "--out", tmp_path / "s"), "notes.pdf")
    assert_one_line_error(invoke("run", mini, "--model", mini_model, "--out", tmp_path / "o", "--export", "nvivo"),
                          "unknown export format")
    assert not (tmp_path / "o").exists()
