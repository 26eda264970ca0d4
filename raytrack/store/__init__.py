"""The generic sample store: Parquet rows of declared columns, read with pyarrow or Ray Data.

- :mod:`.columns`: :class:`~.columns.Column` and :class:`~.columns.StoreSchema` (what a row
  holds, how it is checked, its Arrow form);
- :mod:`.writing`: :func:`~.writing.write_store` (streaming, atomic);
- :mod:`.sample_store`: :class:`~.sample_store.SampleStore` (pyarrow streaming, Ray Data);
- :mod:`.rows`: Arrow tables to per-row numpy arrays without copying;
- :mod:`.stream`: splits, Ray Data rows on Train workers, exactly-once sharding;
- :mod:`.upgrade`: stores of raytrack's first format rewritten in place (``raytrack store upgrade``).

No physics here: the columns belong to the data source that wrote the store.
"""
