"""One row's value of a column: checked and cast to its declaration, or its declaration inferred.

Used by :class:`~raytrack.store.columns.StoreSchema` (``check`` and ``infer``); ``column`` is a
:class:`~raytrack.store.columns.Column` (its ``dtype`` and ``shape``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from raytrack.store.errors import StoreError


def _declared(column: Any, shape: tuple[int | None, ...]) -> str:
    return str(shape) if shape == column.shape else f"{shape} for each item of its {column.shape}"


def cast_value(where: str, label: str, column: Any, value: Any, shape: tuple) -> Any:
    """``value`` checked against ``shape`` (``column.shape`` or, in a nested list, its tail)."""
    if len(shape) >= 2 and shape[0] is None and shape[1] is None:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(
            value, (Sequence, np.ndarray)
        ):
            raise StoreError(
                f"{where}: {label} must be a list of arrays (shape {column.shape}), "
                f"but got {type(value).__name__}"
            )
        return [
            cast_value(where, f"{label} item {j}", column, item, shape[1:])
            for j, item in enumerate(value)
        ]
    if column.dtype == "str" and not shape:
        if not isinstance(value, str):
            raise StoreError(
                f"{where}: {label} has type {type(value).__name__}, but the store declares str"
            )
        return str(value)
    try:
        array = np.asarray(value)
    except ValueError as err:
        raise StoreError(f"{where}: {label} is not a regular array: {err}") from None
    if array.ndim != len(shape) or any(
        d is not None and d != n for d, n in zip(shape, array.shape)
    ):
        raise StoreError(
            f"{where}: {label} has shape {array.shape}, but the store declares "
            f"{_declared(column, shape)}"
        )
    if column.dtype == "str":
        if array.size == 0:
            return array.astype(object)
        if array.dtype.kind == "U" or (
            array.dtype.kind == "O" and all(isinstance(v, str) for v in array.flat)
        ):
            return array
        raise StoreError(f"{where}: {label} has dtype {array.dtype}, but the store declares str")
    target = np.dtype(column.dtype)
    if array.dtype != target:
        _check_cast(where, label, array, target)
        array = array.astype(target)
    return array[()] if not shape else array


def _check_cast(where: str, label: str, array: np.ndarray, target: np.dtype) -> None:
    if array.size == 0 and array.dtype.kind in "biuf":
        return  # nothing to lose (``[]`` is float64 to numpy)
    if array.dtype.kind in "iu" and target.kind in "iu":
        info, low, high = np.iinfo(target), array.min(), array.max()
        if info.min <= low and high <= info.max:
            return
        raise StoreError(
            f"{where}: {label} has values in [{low}, {high}], which do not fit {target}"
        )
    if not np.can_cast(array.dtype, target, casting="same_kind"):
        raise StoreError(
            f"{where}: {label} has dtype {array.dtype}, which cannot be stored as {target}"
        )


def infer_value(name: str, value: Any) -> tuple[str, tuple[int | None, ...]]:
    if isinstance(value, str):
        return "str", ()
    if (
        isinstance(value, (list, tuple))
        and value
        and isinstance(value[0], (np.ndarray, list, tuple))
    ):
        dtype, item_shape = infer_value(name, value[0])
        if item_shape:  # a list of arrays: a nested list
            return dtype, (None, *item_shape)
    if isinstance(value, (list, tuple)) and not value:
        raise StoreError(
            f"column {name!r} is an empty list in the first row, so its dtype cannot be "
            "inferred; declare the column"
        )
    try:
        array = np.asarray(value)
    except ValueError as err:
        raise StoreError(
            f"column {name!r}: cannot infer a shape from the first row ({err}); declare the column"
        ) from None
    if array.dtype.kind == "U":
        dtype = "str"
    elif array.dtype.kind in "biuf":
        dtype = array.dtype.name
    else:
        raise StoreError(
            f"column {name!r} has dtype {array.dtype} in the first row, which a store cannot hold "
            "(numeric, bool or str); declare the column or convert its values"
        )
    return dtype, () if array.ndim == 0 else (None, *array.shape[1:])


def check_finite(where: str, name: str, value: Any) -> None:
    """Raise :class:`StoreError` when a float value (or any item of a nested list) is not finite."""
    arrays = value if isinstance(value, list) else [value]
    for array in arrays:
        array = np.asarray(array)
        if array.size and not np.isfinite(array).all():
            bad = array[~np.isfinite(array)]
            raise StoreError(
                f"{where}: column {name!r} has {bad.size} non-finite value(s) (e.g. {bad.flat[0]}); "
                "its values must be finite (a column where NaN means something declares finite=False)"
            )
