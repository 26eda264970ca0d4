"""Read an offline W&B run's records (its ``run-*.wandb`` file) without a network or W&B's service.

wandb 0.31 no longer ships a Python reader for its transaction log. The format is a LevelDB-style
log: a 7-byte file header (``:W&B``, magic ``0xBEE1``, version), then 32 KiB blocks of records,
each with a 7-byte header (CRC-32, length, type: 1 full, 2 first, 3 middle, 4 last), a record
never starting in the last 6 bytes of a block. Each record is a ``wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = 7


def _payloads(data: bytes) -> list[bytes]:
    ident, magic, _version = struct.unpack("<4sHB", data[:HEADER])
    assert ident == b":W&B" and magic == 0xBEE1, "not a W&B transaction log"
    payloads, pending, offset = [], b"", HEADER
    while offset + HEADER <= len(data):
        left_in_block = BLOCK - offset % BLOCK
        if left_in_block < HEADER:
            offset += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[offset : offset + HEADER])
        if kind == 0 and length == 0:
            break
        body = data[offset + HEADER : offset + HEADER + length]
        offset += HEADER + length
        if kind == 1:
            payloads.append(body)
        elif kind == 2:
            pending = body
        elif kind == 3:
            pending += body
        elif kind == 4:
            payloads.append(pending + body)
            pending = b""
    return payloads


def read_run(path: Path) -> dict[str, Any]:
    """``{"run_id", "sweep_id", "group", "config", "summary", "history", "artifacts"}`` of one
    offline run directory (``offline-run-*``): config and summary as their last values, history
    as a list of rows, artifacts as ``(name, type)``."""
    from wandb.proto import wandb_internal_pb2 as pb

    (log,) = Path(path).glob("run-*.wandb")
    run: dict[str, Any] = {"config": {}, "summary": {}, "history": [], "artifacts": []}
    for payload in _payloads(log.read_bytes()):
        record = pb.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.update(run_id=record.run.run_id, sweep_id=record.run.sweep_id,
                       group=record.run.run_group)  # fmt: skip
            for item in record.run.config.update:
                run["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run["config"][item.key] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                run["summary"][item.key or ".".join(item.nested_key)] = json.loads(item.value_json)
        elif kind == "history":
            row = {
                item.key or "/".join(item.nested_key): json.loads(item.value_json)
                for item in record.history.item
            }
            run["history"].append(row)
        elif kind == "artifact":
            run["artifacts"].append((record.artifact.name, record.artifact.type))
    return run
