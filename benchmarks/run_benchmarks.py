"""How autocode's cost grows with the corpus, and how far `autocode run` is from the bare encoder.

Builds varied copies of training_data at several scales (1x, 4x, 16x, 64x), then measures, each
in a fresh subprocess under ``/usr/bin/time -f "%e %M"`` (wall seconds, peak RSS):

- ``autocode train`` for TF-IDF and for the transformer (2 epochs), once each;
- ``autocode run STUDY --out OUT --force`` with TF-IDF, zero-shot and the transformer at every scale
  (``--heavy-scales`` narrows the last two);
- process start + model load alone (so that the coding itself can be separated out);
- a bare forward pass of the transformer's encoder (AutoModel/AutoTokenizer from the trained
  model folder) over the same segments as the 1x run: length-sorted batches of 64 under
  torch.inference_mode, nothing else (autocode itself runs the same weights on its own BERT module,
  ``autocode.classifiers.bert``); ``overhead_ratio`` = run wall / bare forward wall;
- whether ``autocode --help`` and ``autocode run`` with TF-IDF import torch (-X importtime).

Writes docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks.png (needs the ``bench``
extra: ``.venv/bin/pip install -e ".[bench]"``).

    .venv/bin/python benchmarks/run_benchmarks.py            # everything (about 40 min on 2 cores)
    .venv/bin/python benchmarks/run_benchmarks.py --quick    # TF-IDF to 16x, no 64x

Options: ``--work DIR`` keeps the scratch folder (default /tmp/autocode-bench);
``--reuse-training`` reuses trained models and their ``*.time`` files in the work folder; ``--reuse``
reuses every measurement already there (re-render); ``--repeats N`` (default 3) repeats the 1x transformer
run and the bare pass; ``--note TEXT`` adds a caveat to the write-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
AUTOCODE = str(VENV_BIN / "autocode")
PY = sys.executable
CORPUS = ROOT / "training_data"
TFIDF_MODEL = ROOT / "models" / "tfidf-default"
TRANSFORMER_MODEL = Path("/tmp/bench_transformer")
TFIDF_TRAINED = Path("/tmp/bench_tfidf")

# Word swaps applied to copies 1, 2, ...: copy k uses the pairs whose index i has (k >> (i % 4)) & 1
# set, so copies differ from each other and from the original, deterministically.
SWAPS = [
    ("really", "truly"), ("quite", "rather"), ("think", "reckon"), ("people", "folk"),
    ("big", "large"), ("money", "funding"), ("meeting", "session"), ("often", "frequently"),
    ("difficult", "hard"), ("important", "crucial"), ("problem", "issue"), ("staff", "colleagues"),
]
PID = re.compile(r"\b(P\d{2})\b")


# -- building the scaled corpora ----------------------------------------------------------
def vary(text: str, copy: int) -> str:
    """Copy 0 is verbatim; later copies swap a copy-dependent subset of SWAPS (whole words)."""
    if copy == 0:
        return text
    for i, (a, b) in enumerate(SWAPS):
        if (copy >> (i % 4)) & 1 or (copy + i) % 5 == 0:
            text = re.sub(rf"\b{a}\b", b, text)
    return text


def rename_ids(text: str, suffix: str) -> str:
    return PID.sub(lambda m: m.group(1) + suffix, text)


MARKERS = ["Well,", "Honestly,", "Mind you,", "Frankly,", "Look,", "Still,", "Anyway,", "Again,", "Really,",
           "Mostly,", "Certainly,", "Plainly,", "Naturally,", "Admittedly,", "Of course,", "In fact,", "Even so,"]
SENTENCE = re.compile(r"(?<=[.?!]) (?=[A-Z])")
LABELLED = re.compile(r"^(Interviewer|Facilitator|#)")


def distinct(text: str, copy: int) -> str:
    """Copy k > 0 also opens each sentence after the first of a participant paragraph with a marker that
    depends on k and the sentence's place, so that two-sentence windows differ between copies."""
    if copy == 0:
        return text
    out = []
    for para in text.split("\n"):
        if not para.strip() or LABELLED.match(para):
            out.append(para)
            continue
        parts = SENTENCE.split(para)
        out.append(" ".join([parts[0]] + [f"{MARKERS[(copy + j) % len(MARKERS)]} {p[0].lower() + p[1:] if p[1:2].islower() else p}"
                                          for j, p in enumerate(parts[1:])]))
    return "\n".join(out)


def build_study(scale: int, root: Path, unique: bool = False) -> Path:
    study = root / (f"study_{scale}x_distinct" if unique else f"study_{scale}x")
    if (study / "participants.csv").exists():
        return study
    if study.exists():
        shutil.rmtree(study)
    (study / "transcripts").mkdir(parents=True)
    codebook = (CORPUS / "../configs/codebooks/nhs_leadership.yaml").resolve()
    (study / "study.yaml").write_text(f"name: bench-{scale}x\ncodebook: {codebook}\n", encoding="utf-8")
    header, *rows = (CORPUS / "participants.csv").read_text(encoding="utf-8").splitlines()
    out_rows = [header]
    for c in range(scale):
        suffix = f"-c{c:02d}"  # "_" is not allowed in a speaker label
        for row in rows:
            if row.strip():
                pid, rest = row.split(",", 1)
                out_rows.append(f"{pid}{suffix},{rest}")
        for src in sorted((CORPUS / "transcripts").glob("*.txt")):
            stem = src.stem + suffix  # P01 -> P01-c03, FG01 -> FG01-c03
            text = vary(src.read_text(encoding="utf-8"), c)
            text = rename_ids(distinct(text, c) if unique else text, suffix)
            (study / "transcripts" / f"{stem}.txt").write_text(text, encoding="utf-8")
    (study / "participants.csv").write_text("\n".join(out_rows) + "\n", encoding="utf-8")
    return study


# -- measuring ------------------------------------------------------------------------------
def timed(name: str, cmd: list[str], work: Path, reuse: bool = False, env: dict | None = None) -> dict:
    """Run cmd in a fresh process under /usr/bin/time (``env`` added to the environment); wall
    seconds and peak RSS (MB)."""
    tfile = work / f"{name}.time"
    if not (reuse and tfile.exists() and tfile.read_text().strip()):
        print(f"[bench] {name}: {' '.join(map(str, cmd))}", flush=True)
        log = open(work / f"{name}.log", "w")
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(tfile), *map(str, cmd)],
                              stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **(env or {})})
        log.close()
        if proc.returncode != 0:
            tail = (work / f"{name}.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"[bench] {name} failed (exit {proc.returncode}):\n{tail}")
    last = [ln for ln in tfile.read_text().splitlines() if ln.strip()][-1]
    wall, kb = last.split()
    result = {"wall_s": float(wall), "peak_rss_mb": round(int(kb) / 1024, 1)}
    print(f"[bench] {name}: {result}", flush=True)
    return result


def count_lines(path: Path) -> int:
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


LOAD_ONLY = """
import sys
from autocode.pipeline import open_study, resolve_model
study = open_study(sys.argv[1])
resolve_model(sys.argv[2], study.codebook)
"""

BARE_PASS = """
import json, sys, time
import numpy as np
study_dir, model_dir = sys.argv[1], sys.argv[2]
ROWS, TOKENS = int(sys.argv[3]), int(sys.argv[4])
from autocode.pipeline import open_study, segments_for
from autocode.config import SegmentConfig
study = open_study(study_dir)
meta = json.load(open(f"{model_dir}/model.json"))
params = json.load(open(f"{model_dir}/transformer.json"))
segs = segments_for(study, SegmentConfig(**meta.get("training", {}).get("segment", {})))
texts = [s.text for s in segs]
import torch
from transformers import AutoModel, AutoTokenizer
t0 = time.perf_counter()
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModel.from_pretrained(model_dir).eval()
t_load = time.perf_counter() - t0
max_length = params.get("max_length", 128)
t0 = time.perf_counter()
ids = tok(texts, truncation=True, max_length=max_length)["input_ids"]  # tokenised once, unpadded
order = np.argsort([-len(x) for x in ids], kind="stable")
with torch.inference_mode():
    start = 0
    while start < len(order):  # longest first, at most ROWS rows and TOKENS padded tokens a batch
        rows = max(1, min(ROWS, TOKENS // len(ids[order[start]])))
        batch = tok.pad({"input_ids": [ids[j] for j in order[start:start + rows]]}, return_tensors="pt")
        model(**batch).last_hidden_state
        start += rows
t_fwd = time.perf_counter() - t0
print(json.dumps({"segments": len(texts), "load_s": t_load, "forward_s": t_fwd,
                  "threads": torch.get_num_threads()}))
"""

TORCH_CHECK = [
    ("autocode --help", ["--help"]),
    ("autocode run --model tfidf", None),  # filled in with the study
]


def imports_torch(args: list[str], work: Path, name: str) -> dict:
    """Run the real console script under -X importtime; did torch (or transformers) get imported?"""
    log = work / f"importtime_{name}.log"
    with open(log, "w") as f:
        subprocess.run([PY, "-X", "importtime", AUTOCODE, *args], stdout=subprocess.DEVNULL, stderr=f, cwd=ROOT)
    mods = set()
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            mods.add(line.rsplit("|", 1)[1].strip())

    def loaded(name: str) -> bool:
        # an import that was tried and failed (autocode.lazy hides torch from thinc) still gets a
        # line of its own; a real import of these packages also loads their submodules
        return any(m.startswith(name + ".") for m in mods)

    return {"torch": loaded("torch"), "transformers": loaded("transformers"), "sklearn": loaded("sklearn"),
            "spacy": loaded("spacy"), "pandas": loaded("pandas"), "modules_imported": len(mods)}


# batchings tried for the bare pass, (rows, padded tokens) per batch at most; the fastest is "the limit"
BARE_BATCHINGS = [(64, 10**9), (64, 512), (64, 1024), (64, 2048), (16, 1024), (10**9, 1024)]


def bare_sweep(study: Path, work: Path, reuse: bool) -> tuple[list[dict], tuple[int, int]]:
    """One bare pass per batching in BARE_BATCHINGS; returns them and the fastest batching."""
    sweep = [{"rows": rows, "tokens": tokens, **bare_pass(f"bare_sweep_{rows}_{tokens}", study, work, reuse,
                                                          (rows, tokens))}
             for rows, tokens in BARE_BATCHINGS]
    best = min(sweep, key=lambda b: b["forward_s"])
    return sweep, (best["rows"], best["tokens"])


def bare_pass(name: str, study: Path, work: Path, reuse: bool, batching: tuple[int, int]) -> dict:
    out_file = work / f"{name}.json"
    if not (reuse and out_file.exists()):
        print(f"[bench] {name}: bare forward pass", flush=True)
        tfile = work / f"{name}.time"
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(tfile), PY, "-c", BARE_PASS,
                               str(study), str(TRANSFORMER_MODEL), *map(str, batching)],
                              capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(f"[bench] {name} failed:\n{proc.stderr[-2000:]}")
        bare = json.loads(proc.stdout.strip().splitlines()[-1])
        wall, kb = tfile.read_text().split()[-2:]
        bare.update(process_wall_s=float(wall), peak_rss_mb=round(int(kb) / 1024, 1))
        out_file.write_text(json.dumps(bare))
    bare = json.loads(out_file.read_text())
    print(f"[bench] {name}: {bare}", flush=True)
    return bare


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": ram, "python": platform.python_version(),
            "platform": platform.platform()}
    try:
        out = subprocess.run([PY, "-c", "import torch, transformers; print(torch.__version__, transformers.__version__,"
                              " torch.get_num_threads())"], capture_output=True, text=True, check=True).stdout.split()
        info.update(torch=out[0], transformers=out[1], torch_threads=int(out[2]))
    except (subprocess.CalledProcessError, IndexError):
        info["torch"] = None
    return info


# -- main -----------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/autocode-bench"))
    ap.add_argument("--quick", action="store_true", help="TF-IDF up to 16x only")
    ap.add_argument("--reuse-training", action="store_true", help="reuse trained models and their timings in --work")
    ap.add_argument("--reuse", action="store_true", help="reuse every *.time already in --work (re-render only)")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the 1x transformer run and the bare pass")
    ap.add_argument("--heavy-scales", default="1,4,16,64", help="scales for zero-shot and the transformer")
    ap.add_argument("--zeroshot-distinct", default="4,64", help="scales (e.g. 4) at which to run zero-shot on copies "
                    "made distinct sentence by sentence (zero-shot caches embeddings by text)")
    ap.add_argument("--load-scale", type=int, default=20, help="copies for the load test (distinct texts; 20 = 520 "
                    "transcripts; 0 skips it)")
    ap.add_argument("--note", action="append", default=[], help="a caveat to print under Notes (repeatable)")
    a = ap.parse_args()
    work = a.work
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    results: dict = {"machine": machine(), "runs": [], "training": {}, "notes": list(a.note)}
    tfidf_scales = [1, 4, 16] if a.quick else [1, 4, 16, 64]
    heavy_scales = [int(x) for x in a.heavy_scales.split(",")]

    # training (transformer first: the bare pass and the runs need it)
    reuse_train = a.reuse_training or a.reuse
    if not (reuse_train and (TRANSFORMER_MODEL / "transformer.json").exists()):
        reuse_t = False
    else:
        reuse_t = True
    results["training"]["transformer"] = timed(
        "train_transformer", [AUTOCODE, "train", CORPUS, "--model", "transformer", "--out", TRANSFORMER_MODEL,
                              "--epochs", 2, "--force"], work, reuse=reuse_t)
    results["training"]["tfidf"] = timed(
        "train_tfidf", [AUTOCODE, "train", CORPUS, "--out", TFIDF_TRAINED, "--force"], work,
        reuse=reuse_train and (TFIDF_TRAINED / "model.json").exists())

    studies = {s: build_study(s, work) for s in sorted(set(tfidf_scales) | set(heavy_scales))}

    # startup costs: a no-op import, --help, and import + model load per model
    results["startup"] = {
        "python_noop": timed("startup_python", [PY, "-c", "pass"], work, reuse=a.reuse),
        "import_autocode_cli": timed("startup_import_cli", [PY, "-c", "import autocode.cli"], work, reuse=a.reuse),
        "autocode_help": timed("startup_help", [AUTOCODE, "--help"], work, reuse=a.reuse),
    }
    models = {"tfidf": TFIDF_MODEL, "zeroshot": "zeroshot", "transformer": TRANSFORMER_MODEL}
    for name, m in models.items():
        results["startup"][f"load_{name}"] = timed(f"load_{name}", [PY, "-c", LOAD_ONLY, studies[1], m], work,
                                                   reuse=a.reuse)

    # the largest TF-IDF scale goes last, after a first write-up, so that a cut-short run still reports
    first = [("tfidf", s) for s in tfidf_scales[:3]] + [(m, s) for m in ("transformer", "zeroshot") for s in heavy_scales]
    for model, scale in first:
        run_one(results, model, scale, studies, models, work, a.reuse)


    for scale in [int(x) for x in a.zeroshot_distinct.split(",") if x]:
        study = build_study(scale, work, unique=True)
        studies[f"{scale}d"] = study
        run_one(results, "zeroshot", scale, {scale: study}, models, work, a.reuse, label="zeroshot-distinct")

    # the shipped corpus itself: it has human codings, so the run also writes comparison + agreement
    r = timed("run_tfidf_training_data", [AUTOCODE, "run", CORPUS, "--out", work / "out_tfidf_training_data", "--force",
                                          "--model", TFIDF_MODEL], work, reuse=a.reuse)
    results["tfidf_on_training_data"] = {**r, "segments": count_lines(work / "out_tfidf_training_data" / "segments.jsonl")}

    if a.load_scale:
        load_test(results, work, a.reuse, a.load_scale)

    # the bare forward pass over the 1x transformer run's segments; with --repeats N, the 1x transformer
    # run and the bare pass are each done N times (alternating) and the ratio is of the medians
    sweep, batching = bare_sweep(studies[1], work, a.reuse)
    bare = next(b for b in sweep if (b["rows"], b["tokens"]) == batching)
    runs_1x = [next(r["wall_s"] for r in results["runs"] if r["model"] == "transformer" and r["scale"] == 1)]
    bares = [bare]
    for i in range(1, a.repeats):
        runs_1x.append(timed(f"run_transformer_1x_r{i}", [AUTOCODE, "run", studies[1], "--out",
                                                          work / "out_transformer_1x", "--force", "--model",
                                                          TRANSFORMER_MODEL], work, reuse=a.reuse)["wall_s"])
        bares.append(bare_pass(f"bare_pass_r{i}", studies[1], work, a.reuse, batching))
    fwd = statistics.median(b["forward_s"] for b in bares)
    proc = statistics.median(b["process_wall_s"] for b in bares)
    run_wall = statistics.median(runs_1x)
    load = results["startup"]["load_transformer"]["wall_s"]
    results["bare_batching_sweep"] = sweep
    results["bare_forward_pass"] = {**bare, "forward_s": fwd, "process_wall_s": proc,
                                    "batching": {"rows": batching[0], "tokens": batching[1]},
                                    "repeats": [{k: b[k] for k in ("forward_s", "load_s", "process_wall_s")}
                                                for b in bares]}
    results["transformer_1x_run_walls"] = runs_1x
    results["transformer_1x_run_wall_median"] = run_wall
    results["overhead_ratio"] = round(run_wall / fwd, 2)
    results["overhead_ratio_excl_load"] = round((run_wall - load) / fwd, 2)
    results["overhead_ratio_process"] = round(run_wall / proc, 2)

    int8_run(results, studies[1], work, a.reuse, fwd)
    thread_runs(results, studies[1], work, a.reuse)
    if 4 in heavy_scales:  # the same comparison where start-up weighs less
        bare4 = bare_pass("bare_pass_4x", studies[4], work, a.reuse, batching)
        run4 = next(r["wall_s"] for r in results["runs"] if r["model"] == "transformer" and r["scale"] == 4)
        results["bare_forward_pass_4x"] = {**bare4, "overhead_ratio": round(run4 / bare4["forward_s"], 2),
                                           "overhead_ratio_process": round(run4 / bare4["process_wall_s"], 2)}

    # torch imports
    results["torch_imports"] = {
        "autocode --help": imports_torch(["--help"], work, "help"),
        "autocode run --model tfidf": imports_torch(["run", str(studies[1]), "--out", str(work / "out_importcheck"),
                                                     "--force", "--model", str(TFIDF_MODEL)], work, "run_tfidf"),
    }
    big = tfidf_scales[3:]
    if big:
        results["notes"].append(f"TF-IDF at {big[0]}x not measured yet (this write-up precedes it)")
    write_up(results, a.docs, started)
    for scale in big:
        results["notes"].pop()
        run_one(results, "tfidf", scale, studies, models, work, a.reuse)
        write_up(results, a.docs, started)


INT8_COPY = """
import sys
from autocode.classifiers.base import load_model
from autocode.codebook import load_codebook
book = load_codebook(sys.argv[3])
model = load_model(sys.argv[1], book)
model.classifier.quantize = "int8"
model.save(sys.argv[2], book)
"""


def thread_runs(results: dict, study: Path, work: Path, reuse: bool) -> None:
    """The 1x transformer run with torch held to 1, the core count and twice that many threads
    (OMP_NUM_THREADS; torch's own default is the core count, which autocode keeps)."""
    cores = os.cpu_count() or 1
    results["transformer_1x_by_threads"] = {
        str(n): timed(f"run_transformer_1x_threads{n}", [AUTOCODE, "run", study, "--out", work / "out_transformer_1x",
                                                         "--force", "--model", TRANSFORMER_MODEL], work, reuse,
                      env={"OMP_NUM_THREADS": str(n)})["wall_s"]
        for n in sorted({1, cores, 2 * cores})}


def int8_run(results: dict, study: Path, work: Path, reuse: bool, fwd: float) -> None:
    """Information only: the 1x transformer run with the same model set to int8 (opt-in, see
    docs/quantization.md), against the full-precision bare forward pass."""
    copy = work / "bench_transformer_int8"
    if not (copy / "model.json").exists():
        book = ROOT / "configs" / "codebooks" / "nhs_leadership.yaml"
        subprocess.run([PY, "-c", INT8_COPY, TRANSFORMER_MODEL, copy, book], check=True, cwd=ROOT)
    r = timed("run_transformer_int8_1x", [AUTOCODE, "run", study, "--out", work / "out_transformer_int8_1x", "--force",
                                          "--model", copy], work, reuse=reuse)
    results["transformer_int8_1x"] = {**r, "ratio_to_fp32_bare_pass": round(r["wall_s"] / fwd, 2)}


def load_test(results: dict, work: Path, reuse: bool, scale: int) -> None:
    """A big batch of distinct transcripts with TF-IDF: a fresh run, then the same run resumed
    (every transcript reused from coded/), against the 1x run's time and peak memory."""
    study = build_study(scale, work, unique=True)
    out = work / f"out_load_{scale}x"
    fresh = timed(f"load_{scale}x_fresh", [AUTOCODE, "run", study, "--out", out, "--force", "--model", TFIDF_MODEL],
                  work, reuse=reuse)
    resumed = timed(f"load_{scale}x_resume", [AUTOCODE, "run", study, "--out", out, "--resume", "--model", TFIDF_MODEL],
                    work, reuse=reuse)
    base = next(r for r in results["runs"] if r["model"] == "tfidf" and r["scale"] == 1)
    segments = count_lines(out / "segments.jsonl")
    results["load"] = {"scale": scale, "transcripts": 26 * scale, "segments": segments, "fresh": fresh,
                       "resume": resumed, "segments_per_s": round(segments / fresh["wall_s"], 1),
                       "peak_rss_ratio_to_1x": round(fresh["peak_rss_mb"] / base["peak_rss_mb"], 2),
                       "wall_ratio_to_1x": round(fresh["wall_s"] / base["wall_s"], 2)}


def run_one(results: dict, model: str, scale: int, studies: dict, models: dict, work: Path, reuse: bool,
            label: str | None = None) -> None:
    label = label or model
    out = work / f"out_{label}_{scale}x"
    name = f"run_{label}_{scale}x"
    r = timed(name, [AUTOCODE, "run", studies[scale], "--out", out, "--force", "--model", models[model]], work,
              reuse=reuse)
    seg_file = out / "segments.jsonl"
    segments = count_lines(seg_file) if seg_file.exists() else None
    distinct = len({json.loads(line)["text"] for line in open(seg_file, encoding="utf-8") if line.strip()}) \
        if seg_file.exists() else None
    load = results["startup"][f"load_{model}"]["wall_s"]
    results["runs"].append({
        "model": label, "scale": scale, "transcripts": 26 * scale, "segments": segments, "distinct_texts": distinct, **r,
        "segments_per_s": round(segments / r["wall_s"], 1) if segments else None,
        "wall_excl_load_s": round(max(r["wall_s"] - load, 0.0), 2),
    })


def write_up(results: dict, docs: Path, started: float) -> None:
    results["runs"].sort(key=lambda r: (["tfidf", "zeroshot", "zeroshot-distinct", "transformer"].index(r["model"]), r["scale"]))
    results["goals"] = goals(results)
    results["benchmark_wall_s"] = round(time.time() - started, 1)
    docs.mkdir(exist_ok=True)
    (docs / "benchmarks.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results, docs / "benchmarks.png")
    (docs / "benchmarks.md").write_text(markdown(results), encoding="utf-8")
    print(f"[bench] wrote {docs / 'benchmarks.md'}, .json and .png", flush=True)


def goals(res: dict) -> dict:
    runs = {(r["model"], r["scale"]): r for r in res["runs"]}
    g = {}
    g["transformer_run_at_most_1.3x_bare_pass"] = {
        "met": res["overhead_ratio"] <= 1.3, "value": res["overhead_ratio"]}
    big = max(s for m, s in runs if m == "tfidf")
    ratio = runs[("tfidf", big)]["wall_s"] / runs[("tfidf", 1)]["wall_s"]
    mem = runs[("tfidf", big)]["peak_rss_mb"] / runs[("tfidf", 1)]["peak_rss_mb"]
    g["linear_cost_tfidf"] = {
        "largest_scale": big, "wall_ratio": round(ratio, 2), "peak_rss_ratio": round(mem, 2),
        "met": (big == 64 and ratio <= 70 and mem <= 1.5) if big == 64 else None,
        "time_met": ratio <= 70 if big == 64 else None, "memory_flat": mem <= 1.5,
        "note": "goal: 64x corpus at most 70x the 1x time, peak memory roughly flat (taken here as at most 1.5x)"}
    for m in ("transformer", "zeroshot", "zeroshot-distinct"):
        scales = [s for mm, s in runs if mm == m]
        top = max(scales, default=1)
        base = runs.get((m, 1)) or runs.get(("zeroshot", 1))  # distinct copies: copy 0 is verbatim, so 1x is the same
        if top > 1 and base:
            wall = runs[(m, top)]["wall_s"] / base["wall_s"]
            mem = runs[(m, top)]["peak_rss_mb"] / base["peak_rss_mb"]
            g[f"scaling_{m}"] = {"largest_scale": top, "wall_ratio": round(wall, 2), "peak_rss_ratio": round(mem, 2),
                                 "met": (wall <= 70 and mem <= 1.5) if top == 64 else None,
                                 "time_met": wall <= 70 if top == 64 else None, "memory_flat": mem <= 1.5}
    td = res.get("tfidf_on_training_data")
    g["tfidf_run_under_5s"] = {"met": runs[("tfidf", 1)]["wall_s"] < 5 and (td is None or td["wall_s"] < 5),
                               "value": runs[("tfidf", 1)]["wall_s"], "training_data": td and td["wall_s"]}
    ti = res["torch_imports"]
    g["no_torch_for_help_and_tfidf"] = {"met": not ti["autocode --help"]["torch"]
                                        and not ti["autocode run --model tfidf"]["torch"]}
    return g


def plot(res: dict, path: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        res["notes"].append("matplotlib not installed: no plot (pip install -e '.[bench]')")
        return
    fig, ax = plt.subplots(figsize=(6, 4), dpi=90)
    for model, marker in (("tfidf", "o"), ("zeroshot", "s"), ("zeroshot-distinct", "D"), ("transformer", "^")):
        pts = sorted((r["segments"], r["wall_s"]) for r in res["runs"] if r["model"] == model and r["segments"])
        if pts:
            ax.plot(*zip(*pts), marker=marker, label=model)
    b = res.get("bare_forward_pass")
    if b:
        ax.plot([b["segments"]], [b["forward_s"]], "k*", markersize=10, label="bare encoder forward (1x)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("segments")
    ax.set_ylabel("wall time, s (autocode run, end to end)")
    ax.set_title("autocode run: time against corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def load_markdown(load: dict | None) -> list[str]:
    if not load:
        return []
    f, r = load["fresh"], load["resume"]
    return ["## Load: a batch of 500+ interviews", "",
            f"{load['transcripts']} transcripts ({load['scale']} copies of the corpus, made distinct sentence by "
            f"sentence, so no two copies share segment texts), {load['segments']} segments, TF-IDF "
            f"(`autocode run STUDY --out OUT --force`, then the same with `--resume`):", "",
            "| run | wall s | segments/s | peak RSS MB |", "|---|---|---|---|",
            f"| fresh | {f['wall_s']:.2f} | {load['segments_per_s']} | {f['peak_rss_mb']:.0f} |",
            f"| resumed (every transcript reused from `coded/`) | {r['wall_s']:.2f} | "
            f"{load['segments'] / r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} |", "",
            f"Against the 1x run: {load['wall_ratio_to_1x']}x the time for {load['scale']}x the transcripts, "
            f"{load['peak_rss_ratio_to_1x']}x the peak memory. The run is one stream (`autocode.coding_pass`): "
            "transcripts are coded a group of about 2,048 segments at a time (`autocode.batch`), and each "
            "transcript's segments go to `coded/`, segments.jsonl and segments.csv and into per-participant counts "
            "(from which the grades come) as soon as it is coded, then leave memory; the review list re-reads "
            "`coded/` for the participants it names. What grows with the batch is the study itself (each "
            "transcript's text and turns, read and checked before coding starts) and the per-participant counts.", ""]


def yes(flag: bool | None) -> str:
    if flag is None:
        return "**not shown** (the 64x run was not measured)"
    return "**met**" if flag else "**not met**"


def markdown(res: dict) -> str:
    m = res["machine"]
    L = ["# Benchmarks", "",
         "Generated by `.venv/bin/python benchmarks/run_benchmarks.py` (see its docstring); the raw figures are in",
         "`docs/benchmarks.json`. Every figure is one run in a fresh process under `/usr/bin/time -f \"%e %M\"`:",
         "wall seconds end to end (process start, imports, model load, segmenting, coding, grading, writing) and",
         "peak resident memory. Single runs except the 1x transformer run and the bare pass (repeated, medians",
         "taken): expect a few per cent of noise.", "",
         "## Machine", "",
         f"- CPU: {m['cpu']}, {m['cores']} cores (torch threads: {m.get('torch_threads')}); RAM {m['ram_gb']} GB",
         f"- Python {m['python']}, torch {m.get('torch')}, transformers {m.get('transformers')}; {m['platform']}",
         "",
         "## Corpus copies", "",
         "Scale k is k copies of training_data's 26 transcripts with new names and participant ids (P01 -> P01-c03,",
         "FG01 -> FG01-c03, focus-group speaker maps too) and a matching participants.csv; copy 0 is verbatim, later",
         "copies swap a copy-dependent subset of 12 word pairs (really/truly, quite/rather, ...). No codings, so",
         "runs do not write the comparison or agreement report.", "",
         "## `autocode run STUDY --out OUT --force`", "",
         "| scale | transcripts | segments (distinct texts) | model | wall s | segments/s | peak RSS MB | wall s less load |",
         "|---|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        L.append(f"| {r['scale']}x | {r['transcripts']} | {r['segments']} ({r.get('distinct_texts')}) | {r['model']} | {r['wall_s']:.2f} | "
                 f"{r['segments_per_s']} | {r['peak_rss_mb']:.0f} | {r['wall_excl_load_s']:.2f} |")
    L += ["", "\"wall s less load\" subtracts the wall time of a process that only imports autocode, opens the 1x",
          "study and loads the model (table below); it is an estimate of the coding work itself.", "",
          "![wall time against segments](benchmarks.png)", "",
          "## Start-up and model load (fresh process each)", "", "| what | wall s | peak RSS MB |", "|---|---|---|"]
    for k, v in res["startup"].items():
        L.append(f"| {k} | {v['wall_s']:.2f} | {v['peak_rss_mb']:.0f} |")
    L += ["", "## Training (`autocode train training_data`)", "", "| model | wall s | peak RSS MB |", "|---|---|---|"]
    for k, v in res["training"].items():
        cmd = "--model transformer --epochs 2" if k == "transformer" else "(TF-IDF, 5-fold grouped CV)"
        L.append(f"| {k} {cmd} | {v['wall_s']:.1f} | {v['peak_rss_mb']:.0f} |")
    b = res["bare_forward_pass"]
    walls = res["transformer_1x_run_walls"]
    fwds = ", ".join(f"{x['forward_s']:.2f}" for x in b["repeats"])
    L += ["", "## The limit: a bare forward pass of the same encoder", "",
          f"The trained transformer's encoder weights (AutoModel + AutoTokenizer from its folder), over the same "
          f"{b['segments']} segments as the 1x run (`segments_for` with the model's segment config), each tokenised "
          "once, longest first, under `torch.inference_mode`, nothing else (no head, no pooling, no grading, no "
          "output). `autocode run` codes with the same weights on its own BERT module (`autocode.classifiers.bert`: "
          "the same layers, hidden states within 1e-5 of transformers', tested), which spares importing "
          "transformers.", "",
          "Batching tuned: one bare pass per batching below (at most so many rows and so many padded tokens a "
          "batch); the fastest is the limit the run is measured against.", "",
          "| rows at most | padded tokens at most | forward s | peak RSS MB |", "|---|---|---|---|",
          *[f"| {x['rows'] if x['rows'] < 10**9 else 'any'} | {x['tokens'] if x['tokens'] < 10**9 else 'any'} | "
            f"{x['forward_s']:.2f} | {x['peak_rss_mb']:.0f} |" for x in res.get("bare_batching_sweep", [])], "",
          f"- forward pass: **{b['forward_s']:.2f} s** median of {len(b['repeats'])} "
          f"({fwds}); "
          f"{b['segments'] / b['forward_s']:.1f} segments/s; loading tokenizer + encoder {b['load_s']:.2f} s; "
          f"the whole process (imports, segmenting, load, pass) {b['process_wall_s']:.2f} s median, peak {b['peak_rss_mb']:.0f} MB",
          f"- transformer `autocode run` at 1x: **{res['transformer_1x_run_wall_median']:.2f} s** median of {len(walls)} "
          f"({', '.join(f'{w:.2f}' for w in walls)}) end to end; "
          f"{res['transformer_1x_run_wall_median'] - res['startup']['load_transformer']['wall_s']:.2f} s less start-up "
          f"and model load ({res['startup']['load_transformer']['wall_s']:.2f} s)",
          f"- **overhead_ratio = {res['overhead_ratio']:.2f}** (run wall / bare forward wall); "
          f"{res['overhead_ratio_excl_load']:.2f} with start-up and model load taken off the run; "
          f"{res['overhead_ratio_process']:.2f} process against process"]
    b4 = res.get("bare_forward_pass_4x")
    if b4:
        L.append(f"- at 4x ({b4['segments']} segments) the bare forward pass takes {b4['forward_s']:.2f} s "
                 f"(process {b4['process_wall_s']:.2f} s): the 4x run is **{b4['overhead_ratio']:.2f}x** the bare "
                 f"forward pass ({b4['overhead_ratio_process']:.2f}x process against process); the fixed start-up "
                 f"(import of torch, model load: {res['startup']['load_transformer']['wall_s']:.1f} s with the "
                 "autocode import and the study) weighs less as the batch grows")
    th = res.get("transformer_1x_by_threads")
    if th:
        L.append("- threads: the same 1x run with torch held to n threads (OMP_NUM_THREADS): " + ", ".join(
            f"n = {n}: {w:.2f} s" for n, w in th.items())
            + f"; autocode keeps torch's default, one thread a core ({res['bare_forward_pass']['threads']} here)")
    q = res.get("transformer_int8_1x")
    if q:
        L.append(f"- information only: the same 1x run with the model set to int8 (`autocode train --int8`; opt-in, "
                 f"since it costs 0.03-0.04 category F1 with the current thresholds, docs/quantization.md): "
                 f"{q['wall_s']:.2f} s, {q['ratio_to_fp32_bare_pass']:.2f}x the full-precision bare pass")
    L.append("")
    L += load_markdown(res.get("load"))
    g = res["goals"]
    ti = res["torch_imports"]
    lin = g["linear_cost_tfidf"]
    L += ["## Goals of the issue, on these figures", "",
          f"- Transformer `autocode run` at most 1.3x the bare forward pass: {yes(g['transformer_run_at_most_1.3x_bare_pass']['met'])} "
          f"(ratio {res['overhead_ratio']:.2f} end to end, {res['overhead_ratio_excl_load']:.2f} less start-up and load)"
          + (f"; on the 4x corpus, end to end: {yes(res['bare_forward_pass_4x']['overhead_ratio'] <= 1.3)} "
             f"({res['bare_forward_pass_4x']['overhead_ratio']:.2f})" if res.get("bare_forward_pass_4x") else "") + ".",
          f"- Linear cost (64x corpus at most 70x the 1x time, peak memory roughly flat), TF-IDF: "
          f"{yes(lin['met'])} — {lin['largest_scale']}x corpus took {lin['wall_ratio']}x the 1x time "
          f"(time part {yes(lin['time_met'])}), peak RSS {lin['peak_rss_ratio']}x the 1x peak (memory part, taken "
          f"as roughly flat when at most 1.5x: {yes(lin['memory_flat'])}). The time ratio is small because the 1x run "
          f"is dominated by fixed start-up cost; per segment the run gets cheaper with scale, not dearer."]
    for mname in ("transformer", "zeroshot", "zeroshot-distinct"):
        k = f"scaling_{mname}"
        if k in g:
            top = g[k]["largest_scale"]
            L.append(f"  - {mname}: {yes(g[k]['met'])} -- the {top}x corpus took {g[k]['wall_ratio']}x the 1x time "
                     f"(time part {yes(g[k].get('time_met'))}), peak RSS {g[k]['peak_rss_ratio']}x (memory part "
                     f"{yes(g[k].get('memory_flat'))})" + (" (mostly embedding-cache hits on repeated texts, see "
                                                             "Notes)" if mname == "zeroshot" else "") + ".")
    L += [f"- TF-IDF `autocode run` on the corpus under 5 s end to end, start-up included: "
          f"{yes(g['tfidf_run_under_5s']['met'])} ({g['tfidf_run_under_5s']['value']:.2f} s on the 1x copy, no codings; "
          f"{g['tfidf_run_under_5s']['training_data']} s on training_data itself, which has human codings and so also "
          f"writes the comparison and the agreement report).",
          f"- `autocode --help` and `autocode run --model tfidf` do not import torch: "
          f"{yes(g['no_torch_for_help_and_tfidf']['met'])} (`python -X importtime` on the console script: "
          + "; ".join(f"{k}: torch {'imported' if v['torch'] else 'not imported'}, transformers "
                      f"{'imported' if v['transformers'] else 'not imported'}, {v['modules_imported']} modules"
                      for k, v in ti.items()) + ").", ""]
    if res["notes"]:
        L += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(L)


if __name__ == "__main__":
    main()
