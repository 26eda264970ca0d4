"""Mutation check of the Exa.TrkX regimes: removing any regime's code path must fail a test.

    python benchmarks/exatrkx_mutations.py

Every branch that reads a regime keyword of the three Exa.TrkX stages (embedding, filter,
interaction GNN) and of the label and weight helpers they share is listed in :data:`MUTATIONS`
with its *regime-off* replacement (the branch taken as if the keyword were absent), and so are
the matching styles of the track evaluation that judges the GNN's tracks (each replaced by
another style) and its purity fake rate.

The script copies ``raytrack/``, ``tests/`` and ``pyproject.toml`` to a temporary directory,
checks that the chosen tests pass there unmutated, then applies one mutation at a time to the
copy (the real files are never edited), runs that mutation's tests (a few focused ones, named
in the table) and records the tests that failed. Writes
``benchmarks/results/exatrkx_mutations.json``; exits 1 when a mutation survives.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "exatrkx_mutations.json"
PACKAGE = "raytrack/families"
TESTS = "tests/families/exatrkx"


def tests_of(module: str, *names: str) -> tuple[str, ...]:
    """Pytest ids of the test functions ``names`` of ``tests/families/exatrkx/<module>.py``."""
    return tuple(f"{TESTS}/{module}.py::{name}" for name in names)


NORM = tests_of("test_embedding", "test_norm_regime_gives_unit_vectors")
EMB_CI = tests_of(
    "test_embedding", "test_ci_regime_feeds_cell_features_and_fails_clearly_without_them"
)
QUERIES = tests_of("test_embedding", "test_query_regimes")
HNM = tests_of("test_embedding", "test_hnm_pairs_are_the_embedding_neighbourhood_of_the_queries")
HINGE = tests_of("test_embedding", "test_loss_is_the_reference_hinge_on_the_training_pairs")
RP = tests_of("test_embedding", "test_rp_adds_random_pairs_from_the_queries")
FILTER_PID = tests_of("test_filter_regimes", "test_pid_labels_differ_from_truth_graph_labels")
FILTER_WEIGHTING = tests_of(
    "test_filter_regimes", "test_weighting_weights_true_edges_by_hit_weight"
)
SUBSET = tests_of("test_filter_regimes", "test_subset_trains_only_signal_true_edges")
FILTER_CI = tests_of("test_filter_regimes", "test_ci_puts_cell_features_in_the_input")
GNN_PID = tests_of("test_interaction_gnn", "test_pid_regime_labels_differ_from_truth_graph")
HAND_EVENT = (f"{TESTS}/test_tracks_hand_event.py",)
MATCHING = ("tests/families/tracking/test_matching.py",)
GNN_WEIGHTING = tests_of(
    "test_interaction_gnn",
    "test_signal_and_weighting",
    "test_weighting_weights_each_edge_of_the_loss_and_its_validation",
)  # fmt: skip


@dataclass(frozen=True)
class Mutation:
    """One regime branch replaced by its regime-off behaviour (``old`` occurs once in ``file``)."""

    stage: str
    regime: str
    path: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


def m(stage, regime, path, file, old, new, tests):  # noqa: ANN001, ANN201 (a compact table)
    where = file if "/" in file else f"exatrkx/{file}"
    return Mutation(stage, regime, path, f"{PACKAGE}/{where}", old, new, tests)


EMB, FIL, GNN = "embedding", "filter", "gnn"
MUTATIONS: tuple[Mutation, ...] = (
    m(EMB, "norm", "model normalises the embedding", "embedding.py",
      "if self.norm:", "if False:", NORM),
    m(EMB, "ci", "model reads cell features", "embedding.py",
      'self.ci = "ci" in regime', "self.ci = False", EMB_CI),
    m(EMB, "ci", "task puts cell features in x", "embedding_task.py",
      'self.cell_channels = cell_channels if "ci" in self.regime else 0',
      "self.cell_channels = 0", EMB_CI),
    m(EMB, "query_all_points", "every hit is a query", "embedding_task.py",
      'if "query_all_points" in self.regime:', "if False:", QUERIES),
    m(EMB, "query_noise_points", "noise hits are queries too", "embedding_task.py",
      'elif "query_noise_points" in self.regime:', "elif False:", QUERIES),
    m(EMB, "hnm", "hard-negative pairs from the embedding's neighbours", "embedding_task.py",
      'if "hnm" in self.regime and queries.numel():', "if False:", HNM),
    m(EMB, "hnm", "embedding computed for the neighbour search", "embedding_task.py",
      'if "hnm" in self.regime:\n            with torch.no_grad():',
      "if False:\n            with torch.no_grad():", HINGE),
    m(EMB, "low_purity", "the search takes 500 neighbours", "embedding_task.py",
      'k = LOW_PURITY_KNN if "low_purity" in self.regime else self.knn', "k = self.knn", HNM),
    m(EMB, "low_purity", "int(r_train * queries) pairs kept", "embedding_task.py",
      'if "low_purity" in self.regime:\n                keep',
      "if False:\n                keep", HNM),
    m(EMB, "rp", "random pairs", "embedding_task.py",
      'if "rp" in self.regime and queries.numel():', "if False:", RP),
    m(FIL, "pid", "labels: same particle", "filter_task.py",
      'pid="pid" in self.regime', "pid=False", FILTER_PID),
    m(FIL, "weighting", "per-edge weights prepared", "filter_task.py",
      'if "weighting" in self.regime:', "if False:", FILTER_WEIGHTING),
    m(FIL, "weighting", "training loss weighted", "filter_task.py",
      'weight = batch["edge_weight"][index] if "edge_weight" in batch else None',
      "weight = None", FILTER_WEIGHTING),
    m(FIL, "weighting", "validation loss weighted", "filter_task.py",
      'None, batch.get("edge_weight")', "None, None", FILTER_WEIGHTING),
    m(FIL, "weighting", "event_losses multiplies by the weights", "filter_training.py",
      "if edge_weight is not None:\n        per_edge", "if False:\n        per_edge",
      FILTER_WEIGHTING),
    m(FIL, "subset", "signal-hit edges marked", "filter_task.py",
      'if "subset" in self.regime:\n            sample["subset"]',
      'if False:\n            sample["subset"]', SUBSET),
    m(FIL, "subset", "training restricted to signal-hit edges", "filter_task.py",
      'if "subset" in self.regime:\n            candidates',
      "if False:\n            candidates", SUBSET),
    m(FIL, "ci", "regime read", "filter_task.py",
      'ci = "ci" in regime', "ci = False", FILTER_CI),
    m(FIL, "ci", "task puts cell features in x", "filter_task.py",
      "self.cell_channels = cell_channels if ci else 0", "self.cell_channels = 0",
      FILTER_CI),
    m(GNN, "pid", "labels: same particle", "gnn_task.py",
      'pid="pid" in self.regime', "pid=False", GNN_PID),
    m(GNN, "weighting", "per-edge weights prepared", "gnn_task.py",
      'if "weighting" in self.regime:', "if False:", GNN_WEIGHTING),
    m(GNN, "weighting", "weights collated", "gnn_task.py",
      'if "edge_weight" in sample:', "if False:", GNN_WEIGHTING),
    m(GNN, "weighting", "loss multiplied by the weights", "gnn_task.py",
      'if batch.get("edge_weight") is not None:', "if False:", GNN_WEIGHTING),
    m("shared", "pid", "edge_labels: same particle", "edge_labels.py",
      "if pid:\n        y = same_particle", "if False:\n        y = same_particle",
      FILTER_PID + GNN_PID),
    m("shared", "weighting", "truth_weights: true edges weighted by hit weight",
      "edge_labels.py", "weights[y] = (mean_pair / scale).astype(np.float32)", "pass",
      FILTER_WEIGHTING + GNN_WEIGHTING),
    # the evaluation of the tracks the GNN's scores give: the matching styles, the purity fakes
    m("tracks", "ATLAS", "a pure candidate matches and reconstructs", "tracking/matching.py",
      'if matching_style == "ATLAS":', "if False:", HAND_EVENT + MATCHING),
    m("tracks", "one_way", "purity matches, completeness reconstructs", "tracking/matching.py",
      'elif matching_style == "one_way":', "elif False:", HAND_EVENT + MATCHING),
    m("tracks", "two_way", "double majority: pure and complete", "tracking/matching.py",
      "is_matched = is_reconstructed = pure & complete", "is_matched = is_reconstructed = pure",
      HAND_EVENT + MATCHING),
    m("tracks", "fake_rate_purity", "purity fakes from one-way matching", "tracking/tracks.py",
      'for style in (settings.matching_style, "one_way")',
      "for style in (settings.matching_style, settings.matching_style)", HAND_EVENT),
)  # fmt: skip


def run_tests(copy: Path, tests: tuple[str, ...]) -> tuple[int, list[str]]:
    """``(pytest exit code, failed or erroring test ids)`` of ``tests`` run inside ``copy``."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(copy)}
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *tests]
    done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, flags=re.MULTILINE)
    if done.returncode not in (0, 1) and not failed:
        failed = [f"pytest exit {done.returncode}: {done.stdout[-300:]}{done.stderr[-300:]}"]
    return done.returncode, failed


def make_copy() -> Path:
    copy = Path(tempfile.mkdtemp(prefix="exatrkx-mutations-"))
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("raytrack", "tests"):
        shutil.copytree(ROOT / name, copy / name, ignore=skip)
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    where = subprocess.run(
        [sys.executable, "-c", "import raytrack; print(raytrack.__file__)"],
        cwd=copy, env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True,
    )  # fmt: skip
    if not where.stdout.strip().startswith(str(copy)):
        raise RuntimeError(f"the copy does not import its own raytrack: {where.stdout}")
    return copy


def main() -> int:
    copy = make_copy()
    records = []
    try:
        every_test = tuple(sorted({t for mutation in MUTATIONS for t in mutation.tests}))
        code, failed = run_tests(copy, every_test)
        if code != 0:
            raise RuntimeError(f"the unmutated tests fail: {failed}")
        for mutation in MUTATIONS:
            target = copy / mutation.file
            original = target.read_text()
            if original.count(mutation.old) != 1:
                raise RuntimeError(f"{mutation.file}: {mutation.old!r} must occur exactly once")
            target.write_text(original.replace(mutation.old, mutation.new))
            started = time.perf_counter()
            try:
                code, failed = run_tests(copy, mutation.tests)
            finally:
                target.write_text(original)
            records.append(
                {
                    "stage": mutation.stage,
                    "regime": mutation.regime,
                    "path": mutation.path,
                    "file": mutation.file,
                    "replaced": mutation.old,
                    "by": mutation.new,
                    "caught": bool(failed),
                    "failed_tests": failed,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            status = f"caught by {len(failed)}" if failed else "SURVIVED"
            print(f"{mutation.stage:9} {mutation.regime:18} {mutation.path}: {status}", flush=True)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    survivors = [r for r in records if not r["caught"]]
    RESULT.write_text(
        json.dumps(
            {
                "command": "python benchmarks/exatrkx_mutations.py",
                "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "baseline": "the chosen tests pass on the unmutated copy",
                "mutations": len(records),
                "caught": len(records) - len(survivors),
                "results": records,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"{len(records) - len(survivors)}/{len(records)} mutations caught -> {RESULT}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
