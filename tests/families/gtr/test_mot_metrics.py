"""MOT metrics: exactly py-motmetrics' published values on the TUD MOTChallenge files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from raytrack.families.gtr.mot_metrics import MotCounts, iou_distances, point_distances
from raytrack.families.gtr.motchallenge import compare_directory

pytest.importorskip("motmetrics")

# py-motmetrics 1.4.0, motmetrics/tests/test_metrics.py::test_motchallenge_files: the first 15
# of mm.metrics.motchallenge_metrics for TUD-Campus, TUD-Stadtmitte and OVERALL.
NAMES = ("idf1", "idp", "idr", "recall", "precision", "num_unique_objects", "mostly_tracked",
         "partially_tracked", "mostly_lost", "num_false_positives", "num_misses", "num_switches",
         "num_fragmentations", "mota", "motp")  # fmt: skip
PUBLISHED = {
    "TUD-Campus": (0.557659, 0.729730, 0.451253, 0.582173, 0.941441, 8, 1, 6, 1, 13, 150, 7, 7,
                   0.526462, 0.277201),
    "TUD-Stadtmitte": (0.644619, 0.819760, 0.531142, 0.608997, 0.939920, 10, 5, 4, 1, 45, 452,
                       7, 6, 0.564014, 0.345904),
    "OVERALL": (0.624296, 0.799176, 0.512211, 0.602640, 0.940268, 18, 6, 10, 2, 58, 602, 14, 13,
                0.555116, 0.330177),
}  # fmt: skip


def test_tud_files_give_the_published_metrics(shared_data) -> None:
    results = compare_directory(shared_data / "mot", hypothesis="test.txt")
    found = {r.name: r.counts.metrics(NAMES) for r in results}
    found["OVERALL"] = MotCounts.total(r.counts for r in results).metrics(NAMES)
    assert sorted(found) == sorted(PUBLISHED)
    for name, expected in PUBLISHED.items():
        got = [found[name][m] for m in NAMES]
        np.testing.assert_allclose(got, expected, atol=1e-6, err_msg=name)


def test_the_command_prints_the_overall_row(shared_data, capsys) -> None:
    from raytrack.cli import main

    assert main(["motmetrics", str(shared_data / "mot"), "--json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert rows["OVERALL"]["num_switches"] == 14
    assert rows["OVERALL"]["mota"] == pytest.approx(0.555116, abs=1e-6)


def test_distances_follow_motmetrics_definitions() -> None:
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    shifted = boxes + np.array([5, 0, 5, 0])
    d = iou_distances(boxes, shifted, 0.3)
    assert d[0, 0] == pytest.approx(1 - 50 / 150)  # IoU 1/3 kept at threshold 0.3
    assert math.isnan(d[0, 1])
    assert math.isnan(iou_distances(boxes, shifted, 0.5)[0, 0])  # IoU 1/3 < 0.5: do not pair
    p = point_distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [6.0, 8.0]]), 5.0)
    assert p[0, 0] == pytest.approx(5.0) and math.isnan(p[0, 1])


def test_counts_add_like_the_overall_row(shared_data) -> None:
    results = compare_directory(shared_data / "mot")
    a, b = results[0].counts, results[1].counts
    total = MotCounts.from_tensor(a.as_tensor() + b.as_tensor())
    assert total == a + b
    assert total.metrics(["mota"])["mota"] == pytest.approx(0.555116, abs=1e-6)
