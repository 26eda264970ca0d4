"""The loop↔family contract (:class:`raytrack.tasks.base.Task`)."""
