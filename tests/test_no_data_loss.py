"""No data loss: outputs appear whole or not at all, existing outputs and human codings are safe.

``autocode run`` builds its output in a hidden ``.OUT.work.partial`` folder beside ``--out``
(holding ``.OUT.lock`` meanwhile) and renames it into place only when complete. Each transcript's
coding goes to the work folder's ``coded/`` as soon as it is done (written atomically). What
these tests found, interrupting a run of a study big enough to take a few seconds:

* SIGINT (Ctrl-C): the run stops with exit 130 and one line; ``--out`` does not exist; of the work
  folder only the complete files in ``coded/`` are left (or nothing, if none was done yet), and
  no lock.
* SIGKILL: nothing can run at a kill, so ``--out`` does not exist and the work folder and the
  lock stay behind. The next run takes the lock over (its process is gone) and clears the work
  folder, or with ``--resume`` keeps its complete coded files.
* Either way, the next run with ``--resume`` writes byte for byte what a fresh run writes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MINI

COPIES = 30


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def big_study(tmp_path_factory) -> Path:
    """The mini study repeated COPIES times (each copy its own transcripts and codings)."""
    root = tmp_path_factory.mktemp("big") / "study"
    (root / "transcripts").mkdir(parents=True)
    (root / "codings").mkdir()
    shutil.copyfile(MINI / "codebook.yaml", root / "codebook.yaml")
    (root / "study.yaml").write_text("name: big\n")
    codings = {p.stem: p.read_text().splitlines() for p in (MINI / "codings").glob("*.jsonl")}
    out = {coder: [] for coder in codings}
    for k in range(COPIES):
        for t in sorted((MINI / "transcripts").glob("*.txt")):
            tid = f"{t.stem}x{k:03d}"
            (root / "transcripts" / f"{tid}.txt").write_text(f"# participant: {tid}\n" + t.read_text())
            shift = len(f"# participant: {tid}\n")
            for coder, lines in codings.items():
                for line in lines:
                    row = json.loads(line)
                    if row["transcript"] == t.stem:
                        row.update(transcript=tid, start=row["start"] + shift, end=row["end"] + shift)
                        out[coder].append(json.dumps(row))
    for coder, lines in out.items():
        (root / "codings" / f"{coder}.jsonl").write_text("\n".join(lines) + "\n")
    return root


def start_run(study: Path, model: Path, out: Path, *extra: str) -> subprocess.Popen:
    code = "import sys; from autocode.cli import app; sys.argv[0] = 'autocode'; app()"
    return subprocess.Popen([sys.executable, "-c", code, "run", str(study), "--model", str(model), "--out", str(out),
                             *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])


def wait_for_partial(proc: subprocess.Popen, out: Path, timeout: float = 60) -> bool:
    """Wait until the run has started writing (its partial folder exists); False if it finished first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if list(out.parent.glob(f".{out.name}.*.partial/coded/*.json")):
            time.sleep(0.05)  # let it write a file or two
            return proc.poll() is None
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".partial", ".tmp", ".lock")) or ".old-" in p.name)


def only_complete_coded_files(work: Path) -> bool:
    files = [p for p in work.rglob("*") if p.is_file()]
    return all(p.parent == work / "coded" and p.suffix == ".json" and json.loads(p.read_text()) for p in files)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_signal_mid_run_leaves_no_half_written_output(sig, big_study, mini_model, tmp_path):
    before = snapshot(big_study)
    out = tmp_path / "out"
    proc = start_run(big_study, mini_model, out)
    if not wait_for_partial(proc, out):
        proc.kill()
        proc.communicate()
        pytest.skip("the run finished before it could be interrupted")
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # it finished between our last look and the signal: complete output
        assert {"segments.jsonl", "grades.csv", "run.json", "agreement"} <= {p.name for p in out.iterdir()}
        assert leftovers(tmp_path) == []
        pytest.skip("the run finished before the signal arrived; its output is complete")
    assert not out.exists(), "an interrupted run left an output folder"
    assert snapshot(big_study) == before, "an interrupted run changed its inputs"
    work = tmp_path / ".out.work.partial"
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: interrupted; no output was written"), err
        assert "--resume" in lines[0]
        assert leftovers(tmp_path) in ([], [work.name])
    else:
        assert proc.returncode == -signal.SIGKILL
        assert leftovers(tmp_path) == [".out.lock", work.name]
    if work.exists() and sig == signal.SIGINT:
        assert only_complete_coded_files(work)
    kept = len(list(work.glob("coded/*.json"))) if work.exists() else 0
    # the next run takes over whatever was left, reuses the complete coded files, and writes
    # exactly what a fresh run writes
    done = start_run(big_study, mini_model, out, "--resume")
    out_text, err = done.communicate(timeout=300)
    assert done.returncode == 0, err
    assert f"({kept} reused" in out_text or kept == 0, out_text
    assert leftovers(tmp_path) == []
    fresh = start_run(big_study, mini_model, tmp_path / "fresh")
    assert fresh.communicate(timeout=300) and fresh.returncode == 0
    assert snapshot(out) == snapshot(tmp_path / "fresh")
    assert snapshot(big_study) == before


def test_a_run_without_resume_clears_what_a_killed_run_left(mini, mini_model, tmp_path):
    from autocode import pipeline

    out = tmp_path / "out"
    work = tmp_path / ".out.work.partial"
    (work / "coded").mkdir(parents=True)
    (work / "coded" / "M01.json").write_text("{}")
    (work / "segments.jsonl").write_text('{"half": ')
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".out.lock").write_text(dead.stdout.strip())
    result = pipeline.run(mini, out, mini_model)
    assert result.reused == 0 and leftovers(tmp_path) == []
    assert json.loads((out / "coded" / "M01.json").read_text())["transcript"] == "M01"


def test_failure_inside_the_output_step_leaves_nothing(mini, mini_model, tmp_path, monkeypatch):
    from autocode import pipeline

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_comparison", boom)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(mini, out, mini_model)
    assert not out.exists() and leftovers(tmp_path) == [".out.work.partial"]
    assert only_complete_coded_files(tmp_path / ".out.work.partial")


def test_existing_outputs_are_refused_without_force_for_every_command(mini, mini_model, tmp_path):
    from typer.testing import CliRunner

    from autocode.cli import app

    runner = CliRunner()
    before = snapshot(mini)
    commands = {
        "run": ["run", mini, "--model", mini_model],
        "train": ["train", mini, "--folds", "2"],
        "grade": ["grade", mini, "--coding", mini / "codings" / "coder_a.jsonl"],
        "agree": ["agree", mini / "codings" / "coder_a.jsonl", mini / "codings" / "coder_b.jsonl", "--bootstrap", "0"],
        "import": ["import", MINI.parent / "interop" / "zoom.vtt"],
    }
    for name, args in commands.items():
        out = tmp_path / name
        out.mkdir()
        (out / "precious.txt").write_text("keep me")
        result = runner.invoke(app, [str(a) for a in args] + ["--out", str(out)])
        assert result.exit_code == 1 and "--force" in result.stderr, (name, result.output)
        assert [p.name for p in out.iterdir()] == ["precious.txt"], name
        assert (out / "precious.txt").read_text() == "keep me"
    assert snapshot(mini) == before  # human codings and transcripts never modified


def test_human_codings_are_never_modified_by_a_full_run(mini, mini_model, tmp_path):
    from autocode.pipeline import run

    before = snapshot(mini)
    stat_before = {p: p.stat().st_mtime_ns for p in (mini / "codings").iterdir()}
    run(mini, tmp_path / "out", mini_model, export="qdpx")
    run(mini, tmp_path / "out", mini_model, force=True)
    assert snapshot(mini) == before
    assert {p: p.stat().st_mtime_ns for p in (mini / "codings").iterdir()} == stat_before
