"""Events: readers, the detector simulation, the Parquet event store and Ray Data streams."""
