"""Hyperparameters that the GTR model and its task both take, declared once.

The registry passes a shared name to the builder and to the task alike and refuses a model whose
two signatures declare it differently, so each shared hyperparameter's type lives here.
"""

from __future__ import annotations

from typing import Literal

UseVisFeats = bool
"""``use_vis_feats``: encode every instance's image crop with the visual encoder (true), or
associate on boxes, poses and time alone (false; no crops are read and the model has no visual
encoder). biogtr keeps it under ``tracker``; here it decides training as well as tracking, so it
is a model hyperparameter shared by the model and its task."""

MOT_METRICS = (
    "mota",
    "motp",
    "idf1",
    "idp",
    "idr",
    "recall",
    "precision",
    "num_switches",
    "num_fragmentations",
    "mostly_tracked",
    "partially_tracked",
    "mostly_lost",
    "num_false_positives",
    "num_misses",
    "num_objects",
)
"""The CLEAR-MOT and identity metrics the family reports, under py-motmetrics' names."""

MotMetricName = Literal[
    "mota",
    "motp",
    "idf1",
    "idp",
    "idr",
    "recall",
    "precision",
    "num_switches",
    "num_fragmentations",
    "mostly_tracked",
    "partially_tracked",
    "mostly_lost",
    "num_false_positives",
    "num_misses",
    "num_objects",
]
