"""The gravnet data sources: the calorimeter shower simulation and the HGCAL ntuple reader.

Both write the layout of :mod:`.calo_event` (one row per event, HGCalML's hit features and
truth). Declared in :mod:`.family` as ``calo_sim`` (``data.generate: {events, seed, settings}``;
``raytrack generate calo_sim STORE --events N``) and ``hgcal_ntuple`` (``raytrack convert
hgcal_ntuple FILE_OR_DIR STORE``; needs the ``uproot`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from raytrack.families.gravnet.calo_event import SCHEMA, CaloEvent
from raytrack.families.gravnet.calo_settings import CaloSimSettings
from raytrack.families.gravnet.ntuple_settings import NtupleSettings
from raytrack.family import SourceOutput


def _rows(events: Iterable[CaloEvent]) -> Iterator[dict[str, Any]]:
    for event in events:
        yield event.to_row()


def simulated_showers(settings: CaloSimSettings, *, count: int, seed: int) -> SourceOutput:
    """Events ``0 .. count - 1`` of the calorimeter simulation with ``seed``."""
    from raytrack.families.gravnet.calo_event import FEATURE_NAMES
    from raytrack.families.gravnet.calo_sim import simulate_events

    if count is None or count < 1:
        raise ValueError(f"calo_sim needs a number of events >= 1, but got {count}")
    provenance = {
        "generator": "raytrack.families.gravnet.calo_sim",
        "feature_names": list(FEATURE_NAMES),
    }
    return SourceOutput(_rows(simulate_events(count, seed, settings)), SCHEMA, provenance)


def ntuple_showers(
    settings: NtupleSettings, *, count: None = None, seed: None = None
) -> SourceOutput:
    """Every endcap of every event of the ntuple file(s) at ``settings.path``."""
    from raytrack.families.gravnet.ntuple_reader import read_ntuples

    provenance: dict[str, Any] = {}
    events = read_ntuples(settings, provenance)
    return SourceOutput(_rows(events), SCHEMA, provenance)


def describe_store(store: Any) -> str:
    """Events, hits per event, showers and noise, and events per batch of HGCalML's hit budgets."""
    hits, showers, noise, tracks = [], 0, 0, 0
    for row in store.iter_rows(columns=["t_idx", "features"]):
        t_idx = np.asarray(row["t_idx"])
        hits.append(len(t_idx))
        showers += len(np.unique(t_idx[t_idx >= 0]))
        noise += int((t_idx < 0).sum())
        tracks += int((np.asarray(row["features"])[:, 2] > 0.5).sum())
    if not hits:
        return "no events"
    per_event = np.asarray(hits)
    budgets = ", ".join(
        f"{budget // 1000}k hits ≈ {max(1, int(budget // per_event.mean()))} events"
        for budget in (40000, 120000, 200000)
    )
    return (
        f"{len(hits)} events, {per_event.sum()} hits ({per_event.mean():.0f} per event, "
        f"{per_event.min()}–{per_event.max()}), {showers} showers, {noise} noise hits, "
        f"{tracks} track points; HGCalML batch sizes in hits as events per batch: {budgets}"
    )
