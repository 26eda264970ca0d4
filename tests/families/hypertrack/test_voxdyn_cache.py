"""voxdyn artifacts: built once per key under concurrency, keyed by the store, clear errors."""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

from raytrack.families.hypertrack.voxdyn import check_ncell, train_from_store, train_voxdyn
from raytrack.families.hypertrack.voxdyn_cache import (
    artifact_dir,
    load_constructor,
    read_builds,
    save_constructor,
    voxdyn_constructor,
)
from raytrack.families.hypertrack.voxdyn_key import VoxdynError, VoxdynKey, store_identity
from raytrack.families.tracking.sim_settings import SimulationSettings
from raytrack.families.tracking.simulate import generate_store, simulate_events


def tiny_key(ncell: int = 32, store: str = "tiny-store", node2node: str = "eom") -> VoxdynKey:
    return VoxdynKey(store=store, ncell=ncell, node2node=node2node, seed=1, events=(0, 1))


def slow_build(key: VoxdynKey) -> object:
    """Train on simulated events named by the key, slowly enough for the others to wait."""
    time.sleep(0.5)
    events = list(simulate_events(2, 5, SimulationSettings(rfactor=0.003)))
    return train_voxdyn(events, key)


def ask_in_a_process(storage: str, ncell: int) -> list[float]:
    constructor = voxdyn_constructor(storage, tiny_key(ncell), slow_build, poll_s=0.05)
    return constructor.centroids.ravel().tolist()


@pytest.mark.timeout(120)
def test_threads_sharing_an_ncell_build_each_constructor_once(tmp_path):
    asks = [32, 32, 32, 16, 16]
    results, errors = {}, []

    def ask(i: int) -> None:
        try:
            results[i] = voxdyn_constructor(tmp_path, tiny_key(asks[i]), slow_build, poll_s=0.05)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(asks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    builds = read_builds(tmp_path)
    assert sorted(b["ncell"] for b in builds) == [16, 32]
    assert {b["digest"] for b in builds} == {tiny_key(32).digest, tiny_key(16).digest}
    for i in range(len(asks)):
        first = results[asks.index(asks[i])]
        assert np.array_equal(results[i].centroids, first.centroids)
        assert results[i].connectivity.nnz == first.connectivity.nnz > 0
    assert not list(tmp_path.glob("*.building")) and not list(tmp_path.glob(".*tmp*"))
    # A later request finds the artifact: no new build.
    again = voxdyn_constructor(tmp_path, tiny_key(32), slow_build)
    assert np.array_equal(again.centroids, results[0].centroids)
    assert len(read_builds(tmp_path)) == 2


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_two_processes_asking_for_one_key_build_it_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        centroids = pool.starmap(ask_in_a_process, [(str(tmp_path), 32)] * 2)
    builds = read_builds(tmp_path)
    assert len(builds) == 1 and builds[0]["pid"] != os.getpid()  # built by a worker
    assert centroids[0] == centroids[1]


@pytest.mark.timeout(60)
def test_a_stale_claim_is_taken_over(tmp_path):
    key = tiny_key()
    claim = artifact_dir(tmp_path, key).with_name(artifact_dir(tmp_path, key).name + ".building")
    claim.write_text("{}")
    os.utime(claim, (time.time() - 600, time.time() - 600))  # its builder died long ago
    constructor = voxdyn_constructor(tmp_path, key, slow_build, stale_s=1.0, poll_s=0.05)
    assert constructor.key == key
    assert len(read_builds(tmp_path)) == 1 and not claim.exists()


def test_save_and_load_round_trip(tmp_path):
    built = slow_build(tiny_key())
    directory = save_constructor(built, tmp_path / "artifact")
    loaded = load_constructor(directory, tiny_key())
    assert np.array_equal(loaded.centroids, built.centroids)
    assert (loaded.connectivity != built.connectivity).nnz == 0
    assert loaded.training_hits == built.training_hits
    with pytest.raises(OSError):
        save_constructor(built, directory)  # never overwrites an artifact


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("stores")
    settings = SimulationSettings(rfactor=0.003)
    return (
        generate_store(root / "a", 2, seed=1, settings=settings),
        generate_store(root / "b", 2, seed=2, settings=settings),
    )


def test_an_artifact_of_another_store_is_an_error_naming_the_store(tmp_path, two_stores):
    store_a, store_b = two_stores
    key_a = VoxdynKey(
        store=store_identity(store_a), ncell=16, node2node="hyper", seed=0, events=(0, 1)
    )
    key_b = VoxdynKey(
        store=store_identity(store_b), ncell=16, node2node="hyper", seed=0, events=(0, 1)
    )
    built = voxdyn_constructor(tmp_path, key_a, functools.partial(train_from_store, store_a))
    assert built.training_hits > 16
    with pytest.raises(
        VoxdynError, match=f"built for another store: store={key_a.store}.*{key_b.store}"
    ):
        load_constructor(artifact_dir(tmp_path, key_a), key_b)
    with pytest.raises(VoxdynError, match=f"key names store={key_a.store}"):
        train_from_store(store_b, key_a)


def test_an_artifact_of_another_ncell_names_ncell(tmp_path):
    directory = save_constructor(slow_build(tiny_key(16)), tmp_path / "artifact")
    with pytest.raises(VoxdynError, match=r"ncell=16 \(wanted 32\)"):
        load_constructor(directory, tiny_key(32))


def test_store_identity_follows_content_not_path(tmp_path, two_stores):
    store_a, store_b = two_stores
    copy = generate_store(tmp_path / "copy", 2, seed=1, settings=SimulationSettings(rfactor=0.003))
    assert store_identity(copy) == store_identity(store_a) != store_identity(store_b)


def test_ncell_beyond_the_training_hits_fails_in_the_cache_and_leaves_no_claim(tmp_path):
    key = tiny_key(ncell=100_000)
    with pytest.raises(VoxdynError, match=r"ncell=100000 is larger than the \d+ particle hits"):
        voxdyn_constructor(tmp_path, key, slow_build)
    assert read_builds(tmp_path) == [] and not list(tmp_path.iterdir())


def test_check_ncell_counts_particle_hits_before_any_build(two_stores):
    store_a, _ = two_stores
    built = train_from_store(
        store_a,
        VoxdynKey(store=store_identity(store_a), ncell=8, node2node="eom", seed=0, events=(0, 1)),
    )
    assert check_ncell(store_a, built.training_hits, [0, 1]) == built.training_hits
    with pytest.raises(VoxdynError, match=rf"ncell={built.training_hits + 1} is larger than the"):
        check_ncell(store_a, built.training_hits + 1, [0, 1])
