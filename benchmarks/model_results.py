"""Write docs/results.md from the shipped model's metrics (grouped CV and held-out split).

    .venv/bin/python benchmarks/model_results.py [models/tfidf-default ...]
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(models: list[str]) -> None:
    lines = ["# Model results", "",
             "Segment-level agreement of each model with the corpus's first coder (`coder_a`), from "
             "cross-validation grouped by interview (5 folds, cross-fitted thresholds) on the 18 training "
             "interviews, and on the 6 held-out interviews, which no shipped model was trained on. "
             "Kappa is Cohen's kappa per code, averaged over the codes of a level; 'fine' is every leaf code.",
             "", f"Machine: {machine()}.", ""]
    for name in models:
        meta = json.loads((ROOT / name / "model.json").read_text())
        metrics = meta["metrics"]
        unit = meta["training"]["segment"]
        lines += [f"## `{name}` ({meta['type']}, unit: {unit['unit']}"
                  + (f" of {unit['window']}" if unit["unit"] == "window" else "") + ")", "",
                  "| evaluation | level | codes | macro-F1 | micro-F1 | mean kappa |", "|---|---|---|---|---|---|"]
        for key in ("cross_validation", "heldout"):
            for level, row in metrics.get(key, {}).get("levels", {}).items():
                lines.append(f"| {key.replace('_', ' ')} | {level} | {row['codes']} | {row['macro_f1']:.3f} | "
                             f"{row['micro_f1']:.3f} | {row['kappa']:.3f} |")
        lines += ["", "Per-code F1 on the held-out split:", "", "| code | F1 | kappa | human segments |", "|---|---|---|---|"]
        for code, row in metrics.get("heldout", {}).get("per_code", {}).items():
            f1 = "" if row["f1"] != row["f1"] else f"{row['f1']:.3f}"
            kappa = "" if row["kappa"] != row["kappa"] else f"{row['kappa']:.3f}"
            lines.append(f"| {code} | {f1} | {kappa} | {row['support']} |")
        lines.append("")
    (ROOT / "docs" / "results.md").write_text("\n".join(lines))
    print("\n".join(lines[:30]))


if __name__ == "__main__":
    main(sys.argv[1:] or ["models/tfidf-default"])
