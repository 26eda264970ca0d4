"""The sample store: round trips of every column kind, layout, atomic writes, errors, v1 stores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from raytrack.store.columns import Column, StoreError, StoreSchema
from raytrack.store.sample_store import SampleStore
from raytrack.store.stream import iter_dataset_rows
from raytrack.store.writing import write_store
from tests.store.test_rows import SCHEMA, assert_row, make_row

FILES = Path(__file__).parent / "files"
IDS = range(10)  # keys 10..19


def _write(path: Path, ids=IDS, **kwargs) -> SampleStore:
    kwargs = {"schema": SCHEMA, "provenance": {"test": True}, "source": "kinds",
              "rows_per_file": 4, "row_group_rows": 3, **kwargs}  # fmt: skip
    return write_store(path, (make_row(i) for i in ids), **kwargs)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SampleStore:
    return _write(tmp_path_factory.mktemp("kinds") / "store")


def test_every_kind_round_trips_through_iter_rows_and_row(store: SampleStore) -> None:
    rows = list(store.iter_rows())
    assert [r["sample_id"] for r in rows] == [10 + i for i in IDS]
    for i, row in enumerate(rows):
        assert_row(row, i)
    assert_row(store.row(17), 7)
    some = list(store.iter_rows(ids=[18, 11, 15], columns=["crops", "stem"]))
    assert [r["sample_id"] for r in some] == [11, 15, 18]
    assert set(some[0]) == {"sample_id", "crops", "stem"}
    assert store.row(15, columns=["frames"])["frames"][1].tolist() == [0, 1, 2, 3, 4, 5]


def test_metadata_layout_and_lookups(store: SampleStore) -> None:
    meta = json.loads((store.path / "meta.json").read_text())
    assert (meta["format"], meta["schema_version"], meta["source"]) == (
        "raytrack-sample-store",
        2,
        "kinds",
    )
    assert meta["provenance"] == {"test": True} and store.provenance == {"test": True}
    assert StoreSchema.from_json(meta["schema"]) == SCHEMA == store.schema
    assert meta["counts"] == {"rows": 10, "hit": sum(i % 3 for i in IDS)} == store.counts
    assert meta["layout"] == {"rows_per_file": 4, "row_group_rows": 3, "compression": "zstd"}
    assert meta["files"][2] == {
        "name": "part-00002.parquet",
        "rows": 2,
        "min_key": 18,
        "max_key": 19,
    }
    assert [pq.ParquetFile(f).metadata.row_group(0).num_rows for f in store.files] == [3, 2, 1]
    assert store.metadata == meta and store.format_version == 2
    assert (store.key, len(store), store.ids()) == ("sample_id", 10, [10 + i for i in IDS])
    assert store.columns == ["sample_id", *SCHEMA.names]
    assert 12 in store and 9 not in store and "x" not in store
    with pytest.raises(KeyError, match=r"sample_id \[5\] not in sample store .*sample_id 10\.\.19"):
        store.row(5)
    with pytest.raises(KeyError, match=r"sample_id \[99\] not in sample store"):
        list(store.iter_rows(ids=[12, 99]))
    with pytest.raises(KeyError, match=r"unknown column\(s\) \['nope'\] .*stored columns"):
        list(store.iter_rows(columns=["nope"]))


@pytest.mark.ray
@pytest.mark.timeout(180)
def test_every_kind_round_trips_through_ray_data(ray_session, store: SampleStore) -> None:
    rows = {r["sample_id"]: r for r in iter_dataset_rows(store.dataset(), batch_rows=4)}
    assert sorted(rows) == store.ids()
    for key, row in rows.items():
        assert_row(row, key - 10)
    some = list(iter_dataset_rows(store.dataset(ids=[19, 12], columns=["frames", "vec"])))
    assert sorted(r["sample_id"] for r in some) == [12, 19]
    assert set(some[0]) == {"sample_id", "frames", "vec"}
    assert list(iter_dataset_rows(store.dataset(ids=[]))) == []
    assert store.dataset(ids=[], columns=["vec"]).schema().names == ["sample_id", "vec"]
    v1 = SampleStore(FILES / "v1_graph")
    old = v1_reference(v1.path)
    for row in iter_dataset_rows(v1.dataset(), batch_events=1):  # the former keyword
        assert type(row["event_id"]) is int
        for name in v1.columns[1:]:
            np.testing.assert_array_equal(row[name], old[row["event_id"]][name])


def test_schema_inferred_or_from_a_function(tmp_path: Path) -> None:
    rows = [{"sample_id": i, "spectrum": np.linspace(0, 1, 5), "stem": f"f{i}"} for i in range(3)]
    inferred = write_store(tmp_path / "a", rows, provenance={})
    assert inferred.schema.column("spectrum").shape == (None,)

    def declare(first: dict) -> StoreSchema:
        return StoreSchema.infer(
            first, key="sample_id", declared=[Column("spectrum", "float32", (5,))]
        )

    fixed = write_store(tmp_path / "b", rows, schema=declare, provenance={})
    assert fixed.row(2)["spectrum"].shape == (5,) and fixed.row(2)["stem"] == "f2"
    with pytest.raises(
        StoreError, match="key 'event_id' differs from the schema's key 'sample_id'"
    ):
        write_store(tmp_path / "c", rows, schema=fixed.schema, key="event_id", provenance={})
    with pytest.raises(StoreError, match="schema function must return a StoreSchema"):
        write_store(tmp_path / "c", rows, schema=lambda first: None, provenance={})
    assert not (tmp_path / "c").exists()


def test_bad_rows_duplicates_and_provenance_are_refused(tmp_path: Path) -> None:
    rows = [make_row(i) for i in range(4)]
    rows[2]["sample_id"] = 11
    with pytest.raises(StoreError, match="row sample_id=11: duplicate key"):
        write_store(tmp_path / "s", rows, schema=SCHEMA, provenance={})
    rows[2]["sample_id"] = "12"
    with pytest.raises(StoreError, match="row sample_id='12': the key must be an integer"):
        write_store(tmp_path / "s", rows, schema=SCHEMA, provenance={})
    with pytest.raises(StoreError, match="no rows to write"):
        write_store(tmp_path / "s", [], schema=SCHEMA, provenance={})
    consumed = []
    with pytest.raises(StoreError, match="provenance must be JSON-serialisable"):
        write_store(tmp_path / "s", (consumed.append(i) or make_row(i) for i in IDS),
                    schema=SCHEMA, provenance={"f": object()})  # fmt: skip
    assert consumed == [] and list(tmp_path.iterdir()) == []
    provenance: dict = {"rows": 0}

    def counted():
        for i in IDS:
            provenance["rows"] += 1
            yield make_row(i)

    store = write_store(tmp_path / "s", counted(), schema=SCHEMA, provenance=provenance)
    assert store.provenance == {"rows": 10}  # serialised after the last row


def test_interrupted_write_leaves_no_store_and_no_temp_dir(tmp_path: Path) -> None:
    def dying():
        yield from (make_row(i) for i in range(5))
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError, match="source died"):
        write_store(tmp_path / "s", dying(), schema=SCHEMA, provenance={}, row_group_rows=2)
    assert list(tmp_path.iterdir()) == []
    old = _write(tmp_path / "s", ids=[1, 2])
    with pytest.raises(RuntimeError, match="source died"):
        write_store(old.path, dying(), schema=SCHEMA, provenance={}, overwrite=True)
    assert SampleStore(old.path).ids() == [11, 12]  # the old store is kept
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        _write(old.path)
    assert _write(old.path, ids=[3], overwrite=True).ids() == [13]
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError, match="without meta.json, not a store; refusing"):
        _write(precious, overwrite=True)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_missing_and_corrupt_files_are_named(tmp_path: Path) -> None:
    store = _write(tmp_path / "s")
    with pytest.raises(FileNotFoundError, match="sample store .*nowhere does not exist"):
        SampleStore(tmp_path / "nowhere")
    meta_path = store.path / "meta.json"
    meta = json.loads(meta_path.read_text())
    for change, message in [
        ({"schema_version": 99}, "schema_version 99 is not supported"),
        ({"format": "other"}, "does not describe a raytrack-sample-store"),
        ({"files": [{**meta["files"][0], "rows": 3}, *meta["files"][1:]],
          "counts": {**meta["counts"], "rows": 9}},
         "part-00000.parquet holds 4 rows, but .*meta.json says 3"),
        ({"schema": {**meta["schema"], "columns": meta["schema"]["columns"][1:]}},
         "part-00000.parquet has columns .* but .*meta.json declares"),
        ({"schema": {"key": "sample_id", "columns": [{"name": "a", "dtype": "text"}]}},
         "meta.json: column 'a': dtype must be"),
        ({"counts": {"rows": 11}}, "must have 'rows' equal to the sum of the files' rows \\(10\\)"),
        ({"files": "part-00000.parquet"}, "'files' must be a list"),
    ]:  # fmt: skip
        meta_path.write_text(json.dumps({**meta, **change}))
        with pytest.raises(StoreError, match=message):
            SampleStore(store.path)
    meta_path.write_text("{not json")
    with pytest.raises(StoreError, match="cannot read .*meta.json"):
        SampleStore(store.path)
    meta_path.write_text(json.dumps(meta))
    victim = store.files[0]
    data = bytearray(victim.read_bytes())
    data[4:400] = b"\xff" * 396  # inside the first row group's pages; the footer survives
    victim.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="corrupt or unreadable Parquet file .*part-00000.parquet"):
        list(SampleStore(store.path).iter_rows())
    victim.write_bytes(bytes(data[:100]))
    with pytest.raises(StoreError, match="part-00000.parquet"):
        SampleStore(store.path)
    victim.unlink()
    with pytest.raises(StoreError, match="missing its Parquet file .*part-00000.parquet"):
        SampleStore(store.path)
    meta_path.unlink()
    with pytest.raises(StoreError, match="no meta.json"):
        SampleStore(store.path)


def v1_reference(path: Path) -> dict[int, dict[str, np.ndarray]]:
    """A v1 store's rows read straight from its Parquet files and meta.json, as raytrack 0.1 did."""
    import json

    import pyarrow.parquet as pq

    meta = json.loads((path / "meta.json").read_text())
    dtypes = {**meta["hit_columns"], **{"p_" + k: v for k, v in meta["particle_columns"].items()},
              **{"e_" + k: v for k, v in meta.get("edge_columns", {}).items()}}  # fmt: skip
    rows = {}
    for info in meta["files"]:
        for record in pq.read_table(path / info["name"]).to_pylist():
            rows[record["event_id"]] = {
                name: np.asarray(values, dtype=dtypes[name])
                for name, values in record.items()
                if name != "event_id"
            }
    return rows


@pytest.mark.parametrize("name", ["v1_events", "v1_graph"])
def test_v1_stores_read_as_raytrack_0_1_wrote_them(name: str) -> None:
    import json

    store = SampleStore(FILES / name)
    meta = json.loads((FILES / name / "meta.json").read_text())
    old = v1_reference(FILES / name)
    assert (store.format_version, store.key, store.source) == (1, "event_id", None)
    assert store.columns == meta["columns"] and store.ids() == sorted(old)
    groups = store.schema.groups
    assert groups["hit"] == tuple(meta["hit_columns"])
    assert groups["particle"] == tuple("p_" + c for c in meta["particle_columns"])
    assert groups.get("edge", ()) == tuple("e_" + c for c in meta.get("edge_columns", {}))
    assert all(c.shape == (None,) for c in store.schema.columns)
    counts = meta["counts"]
    assert store.counts["rows"] == counts["events"] and store.counts["hit"] == counts["hits"]
    assert store.counts["particle"] == counts["particles"]
    assert store.counts.get("edge", 0) == counts["edges"]
    assert store.metadata["layout"]["row_group_rows"] == meta["layout"]["row_group_events"]
    assert store.provenance == meta["provenance"]
    for row in store.iter_rows():
        reference = old[row["event_id"]]
        assert set(row) == {"event_id", *reference}
        for column in store.columns[1:]:
            assert row[column].dtype == reference[column].dtype, column
            np.testing.assert_array_equal(row[column], reference[column])
    last = store.ids()[-1]
    np.testing.assert_array_equal(store.row(last, columns=["x"])["x"], old[last]["x"])
    assert [r["event_id"] for r in store.iter_rows(ids=[last])] == [last]
