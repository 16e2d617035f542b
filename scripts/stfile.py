"""Minimal safetensors reader/writer (F32 only) without the safetensors package.

Layout: 8-byte little-endian u64 header length N, N bytes of JSON header
(padded with spaces to a multiple of 8), then the raw little-endian data
buffer. The writer sorts tensors by name, stores them contiguously in that
order, and dumps the header with sorted keys and no whitespace, which is
byte-identical to what the Go package github.com/privatesnn/privatesnn/safetensors
writes for the same tensors and metadata.
"""

import json
import os
import struct
import tempfile

import numpy as np
import torch

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "F16": np.dtype("<f2")}


def save(path, tensors, metadata=None):
    """Write a dict name -> tensor as F32 to path (atomically, via rename)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = tensors[name].detach().cpu().to(torch.float32).contiguous().numpy()
        blob = arr.astype("<f4", copy=False).tobytes(order="C")
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Read path; return (dict name -> float32 torch tensor, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds file size {len(raw)}")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    buf = raw[8 + n :]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    spans = []
    for name, info in header.items():
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r}: unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(buf) or end - begin != count * dtype.itemsize:
            raise ValueError(f"{path}: tensor {name!r}: bad data_offsets {begin},{end} for shape {shape}")
        arr = np.frombuffer(buf, dtype=dtype, count=count, offset=begin).reshape(shape)
        tensors[name] = torch.from_numpy(arr.astype(np.float32))
        spans.append((begin, end))
    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            raise ValueError(f"{path}: data buffer not tiled exactly at byte {pos}")
        pos = end
    if pos != len(buf):
        raise ValueError(f"{path}: {len(buf) - pos} trailing data bytes")
    return tensors, metadata
