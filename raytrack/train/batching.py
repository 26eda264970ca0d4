"""Streaming helpers of the loop: a bounded shuffle buffer and batching of prepared samples.

Both hold at most ``buffer_size`` (or ``batch_size``) items, so a worker's memory stays flat
however large the store is.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def shuffle_buffer(items: Iterable[T], buffer_size: int, seed: int) -> Iterator[T]:
    """Yield ``items`` in a random order drawn from a buffer of ``buffer_size`` items.

    Every item comes out exactly once. ``buffer_size <= 1`` keeps the input order.
    """
    if buffer_size <= 1:
        yield from items
        return
    rng = random.Random(seed)
    buffer: list[T] = []
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        index = rng.randrange(buffer_size)
        buffer[index], item = item, buffer[index]
        yield item
    rng.shuffle(buffer)
    yield from buffer


def batched(items: Iterable[T], batch_size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``batch_size`` items; the last may be shorter."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, but got batch_size={batch_size}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def prepared_batches(
    rows: Iterable[Any],
    prepare: Callable[[Any], Any],
    collate: Callable[[list[Any]], Any],
    batch_size: int,
) -> Iterator[tuple[Any, int]]:
    """``(batch, number of items)`` from raw rows, preparing each row as it arrives."""
    for group in batched((prepare(row) for row in rows), batch_size):
        yield collate(group), len(group)
