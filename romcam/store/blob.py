"""A set's samples as one compact blob: never a row per sample (a clinic holds hundreds of millions).

Format 1: one format byte (1), the sample count as a little-endian uint32, then zlib of the times
(float32 seconds, little-endian) followed by the angles (float32 degrees, NaN where the joint was
not measured). float32 keeps times to ~0.2 ms over an hour and angles far below the measurement
noise; a 60 s set at 30 fps (1,800 samples) takes about 10 kB.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

FORMAT = 1
_HEADER = struct.Struct("<BI")


def pack_samples(t: np.ndarray | list[float], angle: np.ndarray | list[float | None]) -> bytes:
    times = np.asarray(t, dtype="<f4")
    angles = np.array([np.nan if a is None else a for a in angle], dtype="<f4")
    if times.shape != angles.shape or times.ndim != 1:
        raise ValueError(f"t and angle must be 1-D arrays of one length, got {times.shape} and {angles.shape}")
    return _HEADER.pack(FORMAT, times.size) + zlib.compress(times.tobytes() + angles.tobytes(), 6)


def unpack_samples(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``(t, angle)`` as float64 arrays (NaN where not measured)."""
    fmt, n = _HEADER.unpack_from(blob)
    if fmt != FORMAT:
        raise ValueError(f"unknown samples format {fmt} (this romcam reads format {FORMAT}): upgrade romcam")
    raw = np.frombuffer(zlib.decompress(blob[_HEADER.size:]), dtype="<f4")
    if raw.size != 2 * n:
        raise ValueError(f"samples blob holds {raw.size} values, expected {2 * n}")
    return raw[:n].astype(float), raw[n:].astype(float)
