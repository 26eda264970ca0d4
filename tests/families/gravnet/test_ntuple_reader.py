"""The HGCAL ntuple reader on ROOT files written here with uproot (no network, no CMSSW)."""

from __future__ import annotations

import numpy as np
import pytest

from raytrack.families.gravnet.calo_settings import CaloSimSettings
from raytrack.families.gravnet.calo_sim import simulate_events
from raytrack.families.gravnet.ntuple_reader import read_ntuples
from raytrack.families.gravnet.ntuple_settings import NtupleSettings

uproot = pytest.importorskip("uproot")
ak = pytest.importorskip("awkward")

HIT_BRANCHES = {"energy": 0, "x": 5, "y": 6, "z": 7, "time": 8, "hitr": 9}
TRUTH = ("boundaryEnergy", "pdgId", "impactPoint_x", "impactPoint_y", "impactPoint_z",
         "impactPoint_t", "isTrainable")  # fmt: skip


def write_ntuple(path, events, *, hit_prefix="RecHitHGC_", truth_prefix="MergedSimCluster_",
                 untrainable=()):  # fmt: skip
    """Events as a NanoML-style tree: jagged hit branches and per-shower truth branches."""
    hits: dict[str, list] = {name: [] for name in [*HIT_BRANCHES, "MergedSimClusterBestMatchIdx"]}
    truth: dict[str, list] = {name: [] for name in TRUTH}
    for event in events:
        for name, column in HIT_BRANCHES.items():
            hits[name].append(event.features[:, column])
        hits["MergedSimClusterBestMatchIdx"].append(event.t_idx)
        count = int(event.t_idx.max()) + 1
        per = {name: np.zeros(count) for name in TRUTH}
        for k in np.unique(event.t_idx[event.t_idx >= 0]):
            j = np.flatnonzero(event.t_idx == k)[0]
            values = (event.t_energy[j], event.t_pid[j], *event.t_pos[j], event.t_time[j],
                      k not in untrainable)  # fmt: skip
            for name, value in zip(TRUTH, values):
                per[name][k] = value
        for name in TRUTH:
            dtype = {"pdgId": np.int32, "isTrainable": bool}.get(name, np.float32)
            truth[name].append(per[name].astype(dtype))
    branches = {hit_prefix + k: ak.Array(v) for k, v in hits.items()}
    branches.update({truth_prefix + k: ak.Array(v) for k, v in truth.items()})
    with uproot.recreate(path) as file:
        file["Events"] = branches


@pytest.fixture(scope="module")
def events():
    settings = CaloSimSettings(noise_hits=8.0, energy_min=5.0, energy_max=20.0)
    return list(simulate_events(3, seed=2, settings=settings))


def test_a_written_ntuple_reads_back_as_the_same_events(tmp_path, events):
    write_ntuple(tmp_path / "sample.root", events)
    provenance: dict = {}
    read = list(read_ntuples(NtupleSettings(path=str(tmp_path)), provenance))
    assert provenance["files"] == ["sample.root"] and provenance["entries"] == {"sample.root": 3}
    assert len(read) == len(events)
    for original, back in zip(events, read):
        np.testing.assert_allclose(back.features, original.features, atol=1e-3, rtol=1e-5)
        np.testing.assert_array_equal(back.t_idx, original.t_idx)
        np.testing.assert_allclose(back.t_energy, original.t_energy, rtol=1e-5)
        np.testing.assert_allclose(back.t_pos, original.t_pos, atol=1e-3)
        np.testing.assert_allclose(back.t_spectator, original.t_spectator)
        np.testing.assert_allclose(back.t_rec_energy, original.t_rec_energy, rtol=1e-4)
        np.testing.assert_array_equal(back.layer, original.layer)  # layers ranked by |z|


def test_untrainable_showers_become_noise_and_branch_names_map(tmp_path, events):
    write_ntuple(tmp_path / "other.root", events[:1], hit_prefix="Hit_", truth_prefix="Sim_",
                 untrainable=(0,))  # fmt: skip
    names = {
        f"hit_{k}": f"Hit_{v}"
        for k, v in {
            "energy": "energy",
            "x": "x",
            "y": "y",
            "z": "z",
            "time": "time",
            "r": "hitr",
        }.items()
    }
    truth = {"truth_energy": "boundaryEnergy", "truth_pid": "pdgId", "truth_x": "impactPoint_x",
             "truth_y": "impactPoint_y", "truth_z": "impactPoint_z", "truth_time": "impactPoint_t",
             "truth_trainable": "isTrainable"}  # fmt: skip
    settings = NtupleSettings(
        path=str(tmp_path / "other.root"), hit_truth_index="Hit_MergedSimClusterBestMatchIdx",
        **names, **{k: f"Sim_{v}" for k, v in truth.items()},
    )  # fmt: skip
    (event,) = read_ntuples(settings, {})
    original = events[0]
    assert (event.t_idx[original.t_idx == 0] == -1).all()
    kept = original.t_idx > 0
    np.testing.assert_array_equal(event.t_idx[kept], original.t_idx[kept])


def test_a_missing_branch_names_the_setting(tmp_path, events):
    write_ntuple(tmp_path / "sample.root", events[:1])
    settings = NtupleSettings(path=str(tmp_path / "sample.root"), hit_time="RecHitHGC_t")
    with pytest.raises(KeyError, match="hit_time: branch 'RecHitHGC_t' is not in"):
        list(read_ntuples(settings, {}))
    with pytest.raises(FileNotFoundError, match="path:"):
        list(read_ntuples(NtupleSettings(path=str(tmp_path / "none.root")), {}))


def test_raytrack_convert_builds_a_store_from_the_ntuple(tmp_path, events):
    from raytrack.data.build import build_store
    from raytrack.families.gravnet.sources import describe_store
    from raytrack.registry import get_source

    write_ntuple(tmp_path / "sample.root", events)
    settings = NtupleSettings(path=str(tmp_path / "sample.root"))
    store = build_store(get_source("hgcal_ntuple"), tmp_path / "store", settings)
    assert len(store) == 3 and store.source == "hgcal_ntuple"
    assert store.provenance["files"] == ["sample.root"]
    assert store.counts["hit"] == sum(e.num_hits for e in events)
    assert describe_store(store).startswith("3 events")
