"""Compiled kernels of `driftmon.vocabulary`: sorting category keys and filling Bloom filters.

Only building a vocabulary beyond its cap (a reference) needs them, so they are kept apart
and numba is imported then, never by a check: hashing and looking keys up are numpy. The
format they implement is documented in `driftmon.vocabulary`.
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S6 = np.uint64(6)
_LOW_6 = np.uint64(63)
_ONE = np.uint64(1)


@numba.njit(nogil=True, cache=True)
def _mix64(x):  # pragma: no cover - compiled
    # splitmix64's finalizer (Stafford's Mix13); all operands uint64 so numba keeps uint64.
    x = (x ^ (x >> _S30)) * _MIX_1
    x = (x ^ (x >> _S27)) * _MIX_2
    return x ^ (x >> _S31)


@numba.njit(nogil=True, cache=True)
def _less_or_equal(data, offsets, a, b):  # pragma: no cover - compiled
    start_a = offsets[a]
    start_b = offsets[b]
    length_a = offsets[a + 1] - start_a
    length_b = offsets[b + 1] - start_b
    for j in range(min(length_a, length_b)):
        if data[start_a + j] != data[start_b + j]:
            return data[start_a + j] < data[start_b + j]
    return length_a <= length_b


@numba.njit(nogil=True, cache=True)
def prefix_kernel(data, offsets):  # pragma: no cover - compiled
    # The first 8 bytes of each key as one big-endian number, zero padded: sorting by it
    # orders keys by their bytes except within runs of equal prefixes.
    n = offsets.size - 1
    prefixes = np.zeros(n, dtype=np.uint64)
    for i in range(n):
        prefix = np.uint64(0)
        for j in range(8):
            byte = data[offsets[i] + j] if offsets[i] + j < offsets[i + 1] else 0
            prefix = (prefix << np.uint64(8)) | np.uint64(byte)
        prefixes[i] = prefix
    return prefixes


@numba.njit(nogil=True, cache=True)
def sort_prefix_runs_kernel(data, offsets, prefixes, order):  # pragma: no cover - compiled
    n = order.size
    merged = np.empty(n, dtype=order.dtype)
    low = 0
    while low < n:
        high = low + 1
        while high < n and prefixes[order[high]] == prefixes[order[low]]:
            high += 1
        if high - low > 1:
            _merge_sort_run(data, offsets, order, merged, low, high)
        low = high


@numba.njit(nogil=True, cache=True)
def _merge_sort_run(data, offsets, order, merged, low, high):  # pragma: no cover - compiled
    width = 1
    while width < high - low:
        for start in range(low, high, 2 * width):
            middle = min(start + width, high)
            stop = min(start + 2 * width, high)
            i = start
            j = middle
            for k in range(start, stop):
                if i < middle and (j >= stop or _less_or_equal(data, offsets, order[i], order[j])):
                    merged[k] = order[i]
                    i += 1
                else:
                    merged[k] = order[j]
                    j += 1
        order[low:high] = merged[low:high]
        width *= 2


@numba.njit(nogil=True, cache=True)
def bloom_insert_kernel(hashes, words, n_bits, n_probes):  # pragma: no cover - compiled
    for i in range(hashes.size):
        # Double hashing: probe p_i = (h1 + i * h2) mod m with h2 odd, derived from the hash.
        position = hashes[i]
        step = _mix64(hashes[i] + _GOLDEN_GAMMA) | _ONE
        for _ in range(n_probes):
            bit = position % n_bits
            words[bit >> _S6] |= _ONE << (bit & _LOW_6)
            position += step
