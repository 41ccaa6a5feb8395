"""Every category key a reference saw, to tell its long tail from values it never saw.

A categorical feature keeps only its most frequent categories as bins; the rest share the
"other" slot. A `Vocabulary` remembers every key the reference saw, so a check can say whether
an "other" value is merely rare or new. Up to a cap the keys are held exactly (sorted 64-bit
hashes plus the keys' UTF-8 bytes, which verify every hash match, so the exact part never errs);
keys beyond the cap go to a Bloom filter, which never misses a key and says "seen" for a new one
with a stated, small probability (`Vocabulary.false_seen_rate`).

A vocabulary is stored as one binary blob (`Vocabulary.to_bytes`) and loaded for every check,
so loading only wraps numpy views around the bytes, and membership queries run in numpy over
one UTF-8 buffer of all the query keys, vectorized per byte position over the keys that long
(a key much longer than all others finishes alone). Only building a vocabulary beyond its
cap uses compiled kernels.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftmon.errors import ConfigError, InputDataError
from driftmon.options import DEFAULT_VOCABULARY_CAP

__all__ = [
    "BLOOM_BITS_PER_VALUE",
    "BLOOM_PROBES",
    "DEFAULT_VOCABULARY_CAP",
    "EncodedKeys",
    "Vocabulary",
    "VocabularyBuilder",
    "hash_keys",
    "match_keys",
]

#: Bloom filter bits per distinct key beyond the cap (2 bytes a key instead of the key itself).
BLOOM_BITS_PER_VALUE = 16
#: Bloom probes per key: ``round(bits_per_value * ln 2)`` minimises the false-"seen" rate,
#: ``(1 - exp(-k / bits_per_value)) ** k``, about 0.046% for 16 bits and 11 probes.
BLOOM_PROBES = round(BLOOM_BITS_PER_VALUE * math.log(2))

_MAGIC = b"DMVOCAB1"
_VERSION = 1
# magic, version, probes, then n_rows, n_singletons, n_exact, n_exact_bytes, n_bloom_words,
# n_bloom_values, n_approximate. 72 bytes, so the uint64/int64 arrays after it stay 8-aligned.
_HEADER = struct.Struct("<8sII7q")
_U64 = np.dtype("<u8")
_I64 = np.dtype("<i8")


def hash_keys(keys: Sequence[str]) -> NDArray[np.uint64]:
    """A stable 64-bit hash of each key's UTF-8 bytes.

    FNV-1a 64 over the bytes (``str.encode("utf-8", "surrogatepass")``), then the splitmix64
    finalizer (``x ^= x >> 30; x *= 0xBF58476D1CE4E5B9; x ^= x >> 27; x *= 0x94D049BB133111EB;
    x ^= x >> 31``). Unlike `hash`, it is the same in every process, platform and version: the
    hashes are stored in databases, so changing this function needs a new format version.

    Parameters
    ----------
    keys
        Category keys, shape ``(n,)``.

    Returns
    -------
    Hashes, shape ``(n,)``.

    Raises
    ------
    InputDataError
        A key is not a `str`.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.all(hash_keys(["a", "b", "a"]) == hash_keys(["a", "b", "a"])[[0, 1, 0]]))
    True
    """
    data, offsets = _encode(keys, "hash_keys")
    return _hash(data, offsets)


@dataclass(frozen=True, slots=True, eq=False)
class EncodedKeys:
    """Distinct category keys as UTF-8 bytes in one buffer, key ``i`` being
    ``data[offsets[i]:offsets[i + 1]]``: how Arrow holds a column's strings. A check of an
    ID-like column (hundreds of thousands of distinct values per chunk) looks them up, matches
    them to the kept categories and picks its top lists without making a Python string of each
    (`strings` decodes only the keys asked for).
    """

    data: NDArray[np.uint8]
    offsets: NDArray[np.int64]
    _hashes: list[NDArray[np.uint64]] = field(default_factory=list, init=False, repr=False)

    def __len__(self) -> int:
        return self.offsets.size - 1

    @classmethod
    def from_strings(cls, keys: Sequence[str]) -> EncodedKeys:
        return cls(*_encode(keys, "EncodedKeys"))

    def hashes(self) -> NDArray[np.uint64]:
        """`hash_keys` of every key (computed once: a check matches categories and looks up
        the vocabulary with the same hashes)."""
        if not self._hashes:
            self._hashes.append(_hash(self.data, self.offsets))
        return self._hashes[0]

    def strings(self, rows: ArrayLike | None = None) -> list[str]:
        """The keys ``rows`` (all by default) as str, in that order."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.intp)
        starts, ends = self.offsets[rows].tolist(), self.offsets[rows + 1].tolist()
        raw = self.data.tobytes() if rows.size * 8 > self.data.size else None
        return [
            (raw[a:b] if raw is not None else self.data[a:b].tobytes()).decode(
                "utf-8", "surrogatepass"
            )
            for a, b in zip(starts, ends, strict=True)
        ]

    def same(
        self, rows: NDArray[np.intp], other: EncodedKeys, other_rows: NDArray[np.intp]
    ) -> NDArray[np.bool_]:
        """Whether key ``rows[i]`` has the same bytes as key ``other_rows[i]`` of ``other``."""
        return _same_keys((self.data, self.offsets), rows, (other.data, other.offsets), other_rows)

    def smallest(self, rows: NDArray[np.intp], k: int) -> list[str]:
        """The ``k`` smallest of keys ``rows`` in str order (UTF-8 byte order is code point
        order), narrowed 8 bytes at a time in numpy so that only keys tied that far are
        decoded: an ID column's tail of a million keys seen once each has to give its
        smallest few."""
        chosen: list[NDArray[np.intp]] = []
        candidates = np.asarray(rows, dtype=np.intp)
        need, position = k, 0
        longest = int(np.max(np.diff(self.offsets)[candidates], initial=0))
        while need > 0 and candidates.size > need and position < longest:
            words = self._words(candidates, position)
            kth = np.partition(words, need - 1)[need - 1]
            below = candidates[words < kth]
            chosen.append(below)
            need -= below.size
            candidates = candidates[words == kth]
            position += 8
        keys = self.strings(np.concatenate([*chosen, candidates]))
        return sorted(keys)[:k]

    def _words(self, rows: NDArray[np.intp], position: int) -> NDArray[np.uint64]:
        """Bytes ``position`` to ``position + 8`` of keys ``rows`` as big-endian integers,
        zero past a key's end (a key before its own extensions, as in str order)."""
        starts, ends = self.offsets[rows] + position, self.offsets[rows + 1]
        words = np.zeros(rows.size, dtype=np.uint64)
        for byte in range(8):
            at = starts + byte
            live = at < ends
            values = np.zeros(rows.size, dtype=np.uint64)
            values[live] = self.data[at[live]]
            words = (words << np.uint64(8)) | values
        return words


#: Tables of up to this many keys are searched in the order the keys come: sorting the keys
#: first pays only once the table's hashes outgrow the CPU's fastest caches.
_UNSORTED_SEARCH_MAX = 1 << 13


def match_keys(
    keys: EncodedKeys, table: EncodedKeys, table_hashes: NDArray[np.uint64]
) -> NDArray[np.int64]:
    """Where each of ``keys`` is in ``table``, -1 where it is not: the exact match of a
    vocabulary's exact part and of a spec's kept categories.

    ``table_hashes`` are the table's `hash_keys`, ascending (its keys in that order). A hash
    match counts once the bytes are equal, and only keys whose hash matched but whose bytes
    did not (64-bit collisions) scan the rest of their run of equal hashes: never wrong.
    """
    data, offsets = keys.data, keys.offsets
    hashes = keys.hashes()
    n_table = table_hashes.size
    matched = np.full(hashes.size, -1, dtype=np.int64)
    if n_table > _UNSORTED_SEARCH_MAX:
        # searched in hash order: each search starts where the last ended (3x fewer misses)
        by_hash = np.argsort(hashes)
        positions = np.empty(hashes.size, dtype=np.intp)
        positions[by_hash] = np.searchsorted(table_hashes, hashes[by_hash], side="left")
    else:
        positions = np.searchsorted(table_hashes, hashes, side="left")
    candidates = np.flatnonzero(positions < n_table)
    candidates = candidates[table_hashes[positions[candidates]] == hashes[candidates]]
    stored = positions[candidates]
    same = keys.same(candidates, table, stored)
    matched[candidates[same]] = stored[same]
    table_data, table_offsets = table.data, table.offsets
    for i, j in zip(candidates[~same].tolist(), (stored[~same] + 1).tolist(), strict=True):
        key = data[offsets[i] : offsets[i + 1]].tobytes()
        while j < n_table and table_hashes[j] == hashes[i]:
            if table_data[table_offsets[j] : table_offsets[j + 1]].tobytes() == key:
                matched[i] = j
                break
            j += 1
    return matched


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Vocabulary:
    """Every category key a reference saw: exact up to its cap, a Bloom filter for the rest.

    The exact part is ``exact_hashes`` (`hash_keys`, sorted ascending) and the keys' UTF-8 bytes
    in the same order, ``exact_bytes[exact_offsets[i]:exact_offsets[i + 1]]``; a hash match
    only counts once the bytes are equal. The Bloom part is ``bloom_words`` (bit ``p`` is bit
    ``p % 64`` of word ``p // 64``), probed ``bloom_probes`` times per key by double hashing;
    it holds ``bloom_values`` distinct hashes, ``n_approximate`` of them for keys that are not
    in the exact part (the others are keys evicted while building that came back later).

    ``exact_counts`` are the exact keys' counts, in the same order. ``n_rows`` counts the
    non-missing values the vocabulary was built from and ``n_singletons`` the distinct keys
    among them seen exactly once (approximate beyond the cap, see `VocabularyBuilder`). Build
    one with `from_keys` or `VocabularyBuilder`.
    """

    exact_hashes: NDArray[np.uint64]
    exact_offsets: NDArray[np.int64]
    exact_bytes: NDArray[np.uint8]
    exact_counts: NDArray[np.int64]
    n_rows: int = 0
    n_singletons: int = 0
    bloom_words: NDArray[np.uint64] = field(
        default_factory=lambda: _read_only(np.zeros(0, np.uint64))
    )
    bloom_probes: int = 0
    bloom_values: int = 0
    n_approximate: int = 0

    def __post_init__(self) -> None:
        # Cheap O(n) checks only: a corrupt blob must fail here, never index out of bounds in
        # a compiled kernel.
        for name, dtype in [
            ("exact_hashes", np.uint64),
            ("exact_offsets", np.int64),
            ("exact_bytes", np.uint8),
            ("exact_counts", np.int64),
            ("bloom_words", np.uint64),
        ]:
            array = getattr(self, name)
            if (
                not isinstance(array, np.ndarray)
                or array.dtype != dtype
                or array.ndim != 1
                or not array.flags.c_contiguous
            ):
                raise InputDataError(
                    f"vocabulary `{name}` must be a contiguous 1-d numpy array of "
                    f"{np.dtype(dtype).name}, got {type(array).__name__} "
                    f"{getattr(array, 'dtype', '')} {getattr(array, 'shape', '')}"
                )
        offsets = self.exact_offsets
        if (
            offsets.size != self.exact_hashes.size + 1
            or offsets[0] != 0
            or offsets[-1] != self.exact_bytes.size
            or np.any(offsets[1:] < offsets[:-1])
        ):
            raise InputDataError(
                "vocabulary `exact_offsets` must rise from 0 to the size of `exact_bytes` with "
                f"one entry per key plus one; got {offsets.size} offsets for "
                f"{self.exact_hashes.size} keys and {self.exact_bytes.size} bytes"
            )
        if np.any(self.exact_hashes[1:] < self.exact_hashes[:-1]):
            raise InputDataError("vocabulary `exact_hashes` must be sorted ascending")
        if self.exact_counts.size != self.exact_hashes.size:
            raise InputDataError(
                f"vocabulary `exact_counts` needs one count per exact key: got "
                f"{self.exact_counts.size} for {self.exact_hashes.size} keys"
            )
        counts = {
            "n_rows": self.n_rows,
            "n_singletons": self.n_singletons,
            "bloom_probes": self.bloom_probes,
            "bloom_values": self.bloom_values,
            "n_approximate": self.n_approximate,
        }
        negative = {name: value for name, value in counts.items() if value < 0}
        if negative:
            raise InputDataError(f"vocabulary counts must not be negative, got {negative}")
        if self.bloom_words.size and not self.bloom_probes:
            raise InputDataError("a vocabulary with a Bloom filter needs `bloom_probes` >= 1")
        if self.n_approximate > self.bloom_values or (self.bloom_values and not self.approximate):
            raise InputDataError(
                f"vocabulary `n_approximate` ({self.n_approximate}) and `bloom_values` "
                f"({self.bloom_values}) do not fit a Bloom filter of "
                f"{self.bloom_words.size} words"
            )

    @property
    def n_exact(self) -> int:
        """Keys held exactly."""
        return int(self.exact_hashes.size)

    @property
    def n_distinct(self) -> int:
        """Distinct keys seen: `n_exact` + `n_approximate`."""
        return self.n_exact + self.n_approximate

    @property
    def approximate(self) -> bool:
        """Whether some keys are only in the Bloom filter (more distinct keys than the cap)."""
        return bool(self.bloom_words.size)

    @property
    def false_seen_rate(self) -> float:
        """Designed chance that a never-seen key is reported as seen; 0.0 when exact.

        ``(1 - exp(-k n / m)) ** k`` for ``k`` probes, ``n`` = `bloom_values` and ``m`` bits:
        at most the rate for `BLOOM_BITS_PER_VALUE` bits a value, since ``m`` is rounded up to
        whole words.
        """
        if not self.approximate:
            return 0.0
        k = self.bloom_probes
        bits = 64 * self.bloom_words.size
        return (1.0 - math.exp(-k * self.bloom_values / bits)) ** k

    @property
    def singleton_share(self) -> float:
        """`n_singletons` / `n_rows`, 0.0 without rows.

        The Good–Turing estimate of the chance that a new value drawn from the reference's
        distribution is one the reference never saw.
        """
        return self.n_singletons / self.n_rows if self.n_rows else 0.0

    def contains(self, keys: Sequence[str] | EncodedKeys) -> NDArray[np.bool_]:
        """Whether each key was seen: never False for a seen key, rarely True for an unseen one.

        Parameters
        ----------
        keys
            Category keys, shape ``(n,)``.

        Returns
        -------
        Shape ``(n,)``. True for a key never seen only with probability `false_seen_rate`
        (never when the vocabulary is exact): hash matches in the exact part are verified
        against the stored bytes.
        """
        return self._lookup(keys)[0]

    def counts_of(self, keys: Sequence[str]) -> NDArray[np.int64]:
        """How often the reference saw each key: its count for keys held exactly, 0 for keys
        never seen or only in the Bloom part (beyond the cap, so among the rarest)."""
        matched = self._lookup(keys)[1]
        counts = np.zeros(matched.size, dtype=np.int64)
        exact = matched >= 0
        counts[exact] = self.exact_counts[matched[exact]]
        return counts

    def _lookup(
        self, keys: Sequence[str] | EncodedKeys
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
        """Whether each key was seen, and its index in the exact part (-1 if not there).

        In numpy for any number of keys, so a check never loads numba (`match_keys`).
        """
        encoded = keys if isinstance(keys, EncodedKeys) else EncodedKeys.from_strings(keys)
        exact = EncodedKeys(self.exact_bytes, self.exact_offsets)
        matched = match_keys(encoded, exact, self.exact_hashes)
        found = matched >= 0
        if self.approximate:
            rest = np.flatnonzero(~found)
            n_bits = np.uint64(64 * self.bloom_words.size)
            found[rest] = _bloom_has(
                self.bloom_words, n_bits, self.bloom_probes, encoded.hashes()[rest]
            )
        return found, matched

    def to_bytes(self) -> bytes:
        """A compact binary form that `from_bytes` loads without copying.

        A 72-byte little-endian header (magic ``DMVOCAB1``, format version, probes, counts),
        then ``exact_hashes``, ``exact_offsets``, ``exact_counts``, ``bloom_words`` (all 8-byte
        aligned) and ``exact_bytes``.
        """
        header = _HEADER.pack(
            _MAGIC,
            _VERSION,
            self.bloom_probes,
            self.n_rows,
            self.n_singletons,
            self.n_exact,
            self.exact_bytes.size,
            self.bloom_words.size,
            self.bloom_values,
            self.n_approximate,
        )
        return b"".join(
            [
                header,
                self.exact_hashes.astype(_U64, copy=False).tobytes(),
                self.exact_offsets.astype(_I64, copy=False).tobytes(),
                self.exact_counts.astype(_I64, copy=False).tobytes(),
                self.bloom_words.astype(_U64, copy=False).tobytes(),
                self.exact_bytes.tobytes(),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Vocabulary:
        """Load `to_bytes` output as read-only numpy views over ``data`` (no copy, no parsing).

        Raises
        ------
        InputDataError
            ``data`` is not a vocabulary (wrong magic), has an unknown format version, is
            truncated or has trailing bytes, or its arrays are inconsistent.
        """
        try:
            view = memoryview(data).cast("B")
        except TypeError as exc:
            raise InputDataError(
                f"a vocabulary blob must be a contiguous bytes-like object, got "
                f"{type(data).__name__}: {exc}"
            ) from exc
        if view.nbytes < _HEADER.size:
            raise InputDataError(
                f"vocabulary blob is truncated: {view.nbytes} bytes, shorter than its "
                f"{_HEADER.size}-byte header; store it again from `Vocabulary.to_bytes()`"
            )
        (
            magic,
            version,
            probes,
            n_rows,
            n_singletons,
            n_exact,
            n_bytes,
            n_words,
            bloom_values,
            n_approximate,
        ) = _HEADER.unpack_from(view)
        if magic != _MAGIC:
            raise InputDataError(
                f"not a driftmon vocabulary: it starts with {bytes(magic)!r}, expected "
                f"{_MAGIC!r}; pass the bytes written by `Vocabulary.to_bytes()`"
            )
        if version != _VERSION:
            raise InputDataError(
                f"vocabulary format version `{version}` is not supported (this driftmon reads "
                f"version {_VERSION}); upgrade driftmon, or rebuild the reference with this one"
            )
        if min(n_exact, n_bytes, n_words) < 0:
            raise InputDataError(
                f"vocabulary header has negative sizes: {view[: _HEADER.size].hex()}"
            )
        expected = _HEADER.size + 8 * (3 * n_exact + 1 + n_words) + n_bytes
        if view.nbytes != expected:
            raise InputDataError(
                f"vocabulary blob has {view.nbytes} bytes but its header describes {expected} "
                f"({n_exact} exact keys, {n_bytes} key bytes, {n_words} Bloom words): it is "
                "truncated or corrupt; store it again from `Vocabulary.to_bytes()`"
            )
        position = _HEADER.size
        arrays = []
        for dtype, count in [
            (_U64, n_exact),
            (_I64, n_exact + 1),
            (_I64, n_exact),
            (_U64, n_words),
        ]:
            arrays.append(_view(view, dtype, count, position))
            position += 8 * count
        exact_hashes, exact_offsets, exact_counts, bloom_words = arrays
        exact_bytes = _view(view, np.dtype(np.uint8), n_bytes, position)
        return cls(
            exact_hashes=exact_hashes,
            exact_offsets=exact_offsets,
            exact_bytes=exact_bytes,
            exact_counts=exact_counts,
            n_rows=n_rows,
            n_singletons=n_singletons,
            bloom_words=bloom_words,
            bloom_probes=probes,
            bloom_values=bloom_values,
            n_approximate=n_approximate,
        )

    @classmethod
    def from_keys(
        cls,
        keys: Sequence[str],
        counts: ArrayLike | None = None,
        *,
        cap: int = DEFAULT_VOCABULARY_CAP,
    ) -> Vocabulary:
        """The vocabulary of ``keys`` seen ``counts`` times each (once each without counts).

        Parameters
        ----------
        keys
            Category keys, shape ``(n,)``; repeated keys add up.
        counts
            Non-negative integer counts, shape ``(n,)``; keys with count 0 are ignored.
        cap
            Keys held exactly: the ``cap`` most frequent, ties by key text.

        Examples
        --------
        >>> vocabulary = Vocabulary.from_keys(["red", "green", "blue"], [5, 1, 1])
        >>> vocabulary.contains(["green", "purple"]).tolist()
        [True, False]
        >>> vocabulary.singleton_share == 2 / 7
        True
        >>> loaded = Vocabulary.from_bytes(vocabulary.to_bytes())
        >>> loaded.contains(["blue", "Blue"]).tolist(), loaded.n_distinct
        ([True, False], 3)
        """
        builder = VocabularyBuilder(cap)
        builder.add(keys, np.ones(len(keys), dtype=np.int64) if counts is None else counts)
        return builder.build()

    def __repr__(self) -> str:
        return (
            f"Vocabulary({self.n_exact:,} keys exact, {self.n_approximate:,} approximate, "
            f"{self.singleton_share:.1%} singletons)"
        )


class VocabularyBuilder:
    """Accumulates (key, count) pairs chunk by chunk, in bounded memory, then builds a Vocabulary.

    Counts are exact in a dict while it holds at most ``2 * cap`` keys. When it grows past
    that, all but the ``cap`` most frequent keys are evicted to a list of their hashes (8 bytes
    a key), which `build` puts in the Bloom filter, so no key is ever lost. An evicted key's
    count is forgotten: if it comes back it re-enters the dict with its new counts. So beyond
    the cap the exact part holds the most frequent keys by these partial counts, and
    ``n_singletons`` is approximate (an evicted singleton seen again is counted twice, an
    evicted key seen once more is not a singleton). Below the cap everything is exact.

    Parameters
    ----------
    cap
        Keys held exactly in the built vocabulary.

    Raises
    ------
    ConfigError
        ``cap`` is not an integer >= 1.
    """

    __slots__ = ("_cap", "_counts", "_evicted", "_evicted_singletons", "_n_rows")

    def __init__(self, cap: int = DEFAULT_VOCABULARY_CAP) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int | np.integer) or cap < 1:
            raise ConfigError(
                f"vocabulary `cap` must be an integer >= 1 (distinct keys held exactly per "
                f"feature, default {DEFAULT_VOCABULARY_CAP:_}), got `{cap!r}`"
            )
        self._cap = int(cap)
        self._counts: dict[str, int] = {}
        self._evicted: list[NDArray[np.uint64]] = []
        self._evicted_singletons = 0
        self._n_rows = 0

    @property
    def cap(self) -> int:
        return self._cap

    def add(self, keys: Sequence[str], counts: ArrayLike) -> None:
        """Count ``counts[i]`` more occurrences of ``keys[i]``.

        Parameters
        ----------
        keys
            Category keys, shape ``(n,)``; a key may repeat, here and in other chunks.
        counts
            Non-negative integer counts, shape ``(n,)``; keys with count 0 are ignored.

        Raises
        ------
        InputDataError
            A key is not a `str`, or the counts are not non-negative integers, one per key.
        """
        keys = _as_key_list(keys, "VocabularyBuilder.add")
        _joined(keys, "VocabularyBuilder.add")
        counts = _as_counts(counts, len(keys))
        self._n_rows += int(counts.sum())
        if not counts.all():
            keep = counts != 0
            keys = list(compress(keys, keep))
            counts = counts[keep]
        values = counts.tolist()
        tally = self._counts
        limit = 2 * self._cap
        start = 0
        while start < len(keys):
            # Slices small enough that the dict never holds more than 2 * cap + 1 keys.
            stop = start + limit + 1 - len(tally)
            chunk = dict(zip(keys[start:stop], values[start:stop], strict=True))
            if len(chunk) == len(values[start:stop]):
                # Distinct keys in this slice: only keys counted before need a Python step.
                for key in chunk.keys() & tally.keys():
                    chunk[key] += tally[key]
                tally.update(chunk)
            else:
                get = tally.get
                for key, count in zip(keys[start:stop], values[start:stop], strict=True):
                    tally[key] = get(key, 0) + count
            start = stop
            if len(tally) > limit:
                kept, hashes, singletons = _split_top(tally, self._cap)
                tally = self._counts = kept
                self._evict(hashes, singletons)

    def merge(self, other: VocabularyBuilder) -> None:
        """Add what ``other`` collected (another partition's builder): its held keys with
        their counts, and the hashes it evicted. Below the cap the result is exact; beyond,
        approximate as `add` is, and the same whichever process built ``other``."""
        held = sum(other._counts.values())
        self.add(list(other._counts), list(other._counts.values()))
        self._n_rows += other._n_rows - held
        self._evicted_singletons += other._evicted_singletons
        for hashes in other._evicted:
            self._evict(hashes, 0)

    def build(self) -> Vocabulary:
        """The vocabulary of everything added so far (the builder stays usable)."""
        exact, evicted_hashes, evicted_singletons = _split_top(self._counts, self._cap)
        exact_keys = list(exact)
        exact_counts = np.fromiter(exact.values(), dtype=np.int64, count=len(exact))
        hashes = _hash(*_encode(exact_keys, "VocabularyBuilder.build"))
        order = np.argsort(hashes, kind="stable")
        exact_hashes = hashes[order]
        # the keys in hash order, encoded again: a join in C, cheaper than moving bytes
        exact_bytes, exact_offsets = _encode(
            [exact_keys[i] for i in order.tolist()], "VocabularyBuilder.build"
        )
        exact_counts = exact_counts[order]

        evicted = _distinct(np.concatenate([*self._evicted, evicted_hashes]))
        n_approximate = int(evicted.size - _isin_sorted(evicted, exact_hashes).sum())
        bloom_words = np.zeros(-(-BLOOM_BITS_PER_VALUE * evicted.size // 64), dtype=np.uint64)
        if evicted.size:
            _kernels().bloom_insert_kernel(
                evicted, bloom_words, np.uint64(64 * bloom_words.size), BLOOM_PROBES
            )
        n_singletons = (
            int((exact_counts == 1).sum()) + self._evicted_singletons + evicted_singletons
        )
        for array in (exact_hashes, exact_offsets, exact_bytes, exact_counts, bloom_words):
            array.flags.writeable = False
        return Vocabulary(
            exact_hashes=exact_hashes,
            exact_offsets=exact_offsets,
            exact_bytes=exact_bytes,
            exact_counts=exact_counts,
            n_rows=self._n_rows,
            n_singletons=n_singletons,
            bloom_words=bloom_words,
            bloom_probes=BLOOM_PROBES if evicted.size else 0,
            bloom_values=int(evicted.size),
            n_approximate=n_approximate,
        )

    def _evict(self, hashes: NDArray[np.uint64], singletons: int) -> None:
        self._evicted.append(hashes)
        self._evicted_singletons += singletons
        if len(self._evicted) >= 8:
            # Keys evicted again after coming back would pile up; merge to distinct hashes.
            self._evicted = [_distinct(np.concatenate(self._evicted))]


def _split_top(tally: dict[str, int], cap: int) -> tuple[dict[str, int], NDArray[np.uint64], int]:
    """The ``cap`` most frequent keys (ties by key text), and the rest's hashes and singletons."""
    if len(tally) <= cap:
        return tally, np.zeros(0, dtype=np.uint64), 0
    keys = list(tally)
    counts = np.fromiter(tally.values(), dtype=np.int64, count=len(keys))
    threshold = np.partition(counts, len(keys) - cap)[len(keys) - cap]
    keep = counts > threshold
    tied = np.flatnonzero(counts == threshold)
    needed = cap - int(keep.sum())
    if needed < tied.size:
        tied = tied[_argsort_keys(list(compress(keys, counts == threshold)))[:needed]]
    keep[tied] = True
    kept = dict(zip(compress(keys, keep), counts[keep].tolist(), strict=True))
    evicted = ~keep
    hashes = hash_keys(list(compress(keys, evicted)))
    return kept, hashes, int((counts[evicted] == 1).sum())


def _argsort_keys(keys: list[str]) -> NDArray[np.intp]:
    """A stable argsort of the keys by their UTF-8 bytes.

    UTF-8 (with surrogatepass) preserves code point order, so this is Python's str order, at
    compiled speed instead of `sorted` comparing str objects.
    """
    data, offsets = _encode(keys, "vocabulary")
    prefixes = _kernels().prefix_kernel(data, offsets)
    order = np.argsort(prefixes, kind="stable")
    _kernels().sort_prefix_runs_kernel(data, offsets, prefixes, order)
    return order


def _distinct(hashes: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Sorted distinct values; `np.unique` hashes uint64 values and is many times slower."""
    hashes = np.sort(hashes)
    return hashes[np.r_[True, hashes[1:] != hashes[:-1]]] if hashes.size else hashes


def _isin_sorted(values: NDArray[np.uint64], sorted_values: NDArray[np.uint64]) -> NDArray[Any]:
    if not sorted_values.size:
        return np.zeros(values.size, dtype=np.bool_)
    positions = np.minimum(np.searchsorted(sorted_values, values), sorted_values.size - 1)
    return sorted_values[positions] == values


def _read_only(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


def _view(view: memoryview, dtype: np.dtype, count: int, offset: int) -> NDArray[Any]:
    array = np.frombuffer(view, dtype=dtype, count=count, offset=offset)
    if not array.dtype.isnative or not array.flags.aligned:
        # Big-endian hosts or a misaligned buffer: native aligned arrays for numpy's speed.
        array = array.astype(array.dtype.newbyteorder("="))
    return _read_only(array)


def _as_key_list(keys: Sequence[str], where: str) -> list[str]:
    if isinstance(keys, str | bytes):
        raise InputDataError(
            f"{where}: keys must be a sequence of str, got a single {type(keys).__name__} "
            f"`{keys[:40]!r}`; wrap it in a list"
        )
    return keys if isinstance(keys, list) else list(keys)


def _joined(keys: list[str], where: str) -> str:
    """All keys as one str (C speed), which also checks that every key is a str."""
    try:
        return "".join(keys)
    except TypeError as exc:
        bad = next(key for key in keys if not isinstance(key, str))
        raise InputDataError(
            f"{where}: every key must be a str (a normalised category key), got "
            f"{type(bad).__name__} `{bad!r}`; convert keys with `driftmon.bins.category_key`"
        ) from exc


def _encode(keys: Sequence[str], where: str) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """All keys' UTF-8 bytes in one buffer and where each key starts, shape ``(n + 1,)``.

    One join and one encode in C instead of a loop over keys; ``surrogatepass`` encodes lone
    surrogates (from decoding mistakes upstream) instead of failing on them.
    """
    keys = _as_key_list(keys, where)
    text = _joined(keys, where)
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)), out=offsets[1:])
    if data.size != len(text):
        # Some keys are not ASCII: map character to byte offsets. Every code point (lone
        # surrogates too, with surrogatepass) starts with a byte that is not 0b10xxxxxx.
        code_point_starts = np.flatnonzero((data & 0xC0) != 0x80)
        offsets = np.append(code_point_starts, data.size)[offsets]
    return data, offsets


def _as_counts(counts: ArrayLike, n_keys: int) -> NDArray[np.int64]:
    array = np.asarray(counts)
    if array.shape != (n_keys,):
        raise InputDataError(
            f"vocabulary counts must have one entry per key: {n_keys} keys but counts of "
            f"shape {array.shape}"
        )
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise InputDataError(
            f"vocabulary counts must be whole numbers (occurrences of each key), got dtype "
            f"`{array.dtype}`{' with NaN, inf or fractions' if array.dtype.kind == 'f' else ''}"
        )
    array = array.astype(np.int64)
    if np.any(array < 0):
        raise InputDataError(
            f"vocabulary counts must not be negative, got {array[array < 0][:5].tolist()}"
        )
    return array


#: Keys below which the byte-position loops finish key by key (a few very long keys would
#: otherwise cost one numpy step per byte).
_FEW_KEYS = 32

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_FNV_PRIME_INT = 0x100000001B3
_MASK_64 = (1 << 64) - 1
_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _hash(data: NDArray[np.uint8], offsets: NDArray[np.int64]) -> NDArray[np.uint64]:
    """`hash_keys` of encoded keys, in numpy: one vectorized step per byte position over the
    keys at least that long, then the few longest keys' remaining bytes one key at a time
    (in Python, ~0.15 us a byte: only keys far longer than all others take that path)."""
    lengths = np.diff(offsets)
    hashes = np.full(lengths.size, _FNV_OFFSET, dtype=np.uint64)
    order, n_longer = _by_length(lengths)
    starts = offsets[:-1][order]
    for position, n_live in enumerate(n_longer.tolist()):
        live = hashes[:n_live]
        live ^= data[starts[:n_live] + position]
        live *= _FNV_PRIME
    position = n_longer.size
    for k in range(int(np.count_nonzero(lengths > position))):
        value = int(hashes[k])
        for byte in data[starts[k] + position : offsets[order[k] + 1]].tobytes():
            value = ((value ^ byte) * _FNV_PRIME_INT) & _MASK_64
        hashes[k] = value
    in_key_order = np.empty_like(hashes)
    in_key_order[order] = hashes
    return _mix64(in_key_order)


def _same_keys(
    keys: tuple[NDArray[np.uint8], NDArray[np.int64]],
    rows: NDArray[np.intp],
    other_keys: tuple[NDArray[np.uint8], NDArray[np.int64]],
    other_rows: NDArray[np.intp],
) -> NDArray[np.bool_]:
    """Whether key ``rows[i]`` of ``keys`` has the same bytes as key ``other_rows[i]`` of
    ``other_keys`` (each a buffer and its offsets), compared as `_hash` walks the bytes."""
    (data, offsets), (other_data, other_offsets) = keys, other_keys
    lengths = offsets[rows + 1] - offsets[rows]
    same = lengths == other_offsets[other_rows + 1] - other_offsets[other_rows]
    alike = np.flatnonzero(same)
    order, n_longer = _by_length(lengths[alike])
    alike = alike[order]
    starts, other_starts = offsets[rows[alike]], other_offsets[other_rows[alike]]
    differ = np.zeros(alike.size, dtype=np.bool_)
    for position, n_live in enumerate(n_longer.tolist()):
        differ[:n_live] |= (
            data[starts[:n_live] + position] != other_data[other_starts[:n_live] + position]
        )
    position = n_longer.size
    for k in range(int(np.count_nonzero(lengths[alike] > position))):
        end = int(starts[k] + lengths[alike[k]])
        other_end = int(other_starts[k] + lengths[alike[k]])
        differ[k] |= (
            data[starts[k] + position : end].tobytes()
            != other_data[other_starts[k] + position : other_end].tobytes()
        )
    same[alike[differ]] = False
    return same


def _by_length(lengths: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Key indices longest first, and for each byte position that at least `_FEW_KEYS` keys
    reach, how many keys are longer than it: the keys a position's vectorized step works on
    are a prefix, every byte is read once, and the bytes of the few longest keys beyond that
    are left to the caller (one key at a time: numpy steps over one key cost more)."""
    order = np.argsort(lengths, kind="stable")[::-1]
    ascending = lengths[order[::-1]]
    stop = int(ascending[-_FEW_KEYS]) if ascending.size >= _FEW_KEYS else 0
    n_longer = lengths.size - np.searchsorted(ascending, np.arange(stop), side="right")
    return order, n_longer


def _mix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finalizer, as `driftmon.vocabulary_kernels` computes it (uint64 wraps)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _bloom_has(
    words: NDArray[np.uint64], n_bits: np.uint64, n_probes: int, hashes: NDArray[np.uint64]
) -> NDArray[np.bool_]:
    """Whether every probe bit of each hash is set (double hashing, as the kernels insert)."""
    position = hashes.copy()
    step = _mix64(hashes + _GOLDEN_GAMMA) | np.uint64(1)
    present = np.ones(hashes.size, dtype=np.bool_)
    for _ in range(n_probes):
        bit = position % n_bits
        present &= ((words[bit >> np.uint64(6)] >> (bit & np.uint64(63))) & np.uint64(1)) == 1
        position += step
    return present


def _kernels() -> ModuleType:
    """The compiled kernels, imported on first use: loading numba costs ~1 s a process, which
    only building a vocabulary beyond its cap pays; checks never do."""
    from driftmon import vocabulary_kernels

    return vocabulary_kernels
