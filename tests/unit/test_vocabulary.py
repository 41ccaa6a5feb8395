"""Vocabularies of reference keys: exact membership up to the cap, a Bloom filter beyond it.

The independent baselines are Python sets (membership), `collections.Counter` (counts and
singletons), `sorted` (which keys are the most frequent) and a pure-Python FNV-1a 64 +
splitmix64 hash.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from driftmon import bins, vocabulary
from driftmon.bins import ValueCounts, count_values, fit_bins
from driftmon.errors import ConfigError, InputDataError
from driftmon.vocabulary import (
    BLOOM_BITS_PER_VALUE,
    BLOOM_PROBES,
    DEFAULT_VOCABULARY_CAP,
    EncodedKeys,
    Vocabulary,
    VocabularyBuilder,
    hash_keys,
    match_keys,
)

# Keys that trip naive encoders: CJK, emoji (astral plane), combining marks, the empty string,
# a lone surrogate, NUL, and the same text composed and decomposed.
AWKWARD_KEYS = [
    "",
    "日本語",
    "😀",
    "👩‍👩‍👧",
    "e\u0301",
    "é",
    "\ud800",
    "a\udfff",
    "a\x00",
    "a",
    "ß",
]
PIECES = [*"abcXYZ019 _-", "日", "本", "語", "😀", "🎉", "\u0301", "\u0327", "é", "\ud800", "\x00"]
MASK_64 = (1 << 64) - 1


def _random_keys(rng: np.random.Generator, n: int, prefix: str = "") -> list[str]:
    lengths = rng.integers(0, 12, n)
    picks = rng.integers(0, len(PIECES), lengths.sum())
    ends = np.cumsum(lengths)
    text = [PIECES[i] for i in picks]
    return [
        prefix + "".join(text[end - length : end])
        for end, length in zip(ends, lengths, strict=True)
    ]


def _reference_hash(key: str) -> int:
    value = 0xCBF29CE484222325
    for byte in key.encode("utf-8", "surrogatepass"):
        value = ((value ^ byte) * 0x100000001B3) & MASK_64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK_64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK_64
    return value ^ (value >> 31)


def _forged(hashes: list[int], keys: list[str]) -> Vocabulary:
    """An exact vocabulary whose stored hashes need not be the hashes of its keys."""
    encoded = [key.encode("utf-8") for key in keys]
    arrays = {
        "exact_hashes": np.array(hashes, dtype=np.uint64),
        "exact_offsets": np.r_[0, np.cumsum([len(e) for e in encoded])].astype(np.int64),
        "exact_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "exact_counts": np.ones(len(keys), dtype=np.int64),
    }
    for array in arrays.values():
        array.flags.writeable = False  # like built and loaded vocabularies: one compiled kernel
    return Vocabulary(**arrays)


def _zipf_vocabulary(rng: np.random.Generator, cap: int) -> tuple[Vocabulary, list[str], list[int]]:
    keys = [f"k{i}-{value}" for i, value in enumerate(rng.integers(0, 1 << 62, 50_000))]
    counts = np.maximum(1, (50_000 / np.arange(1, 50_001)).astype(np.int64))
    counts = counts[rng.permutation(counts.size)].tolist()
    return Vocabulary.from_keys(keys, counts, cap=cap), keys, counts


# --- hashing -----------------------------------------------------------------------------------


def test_hash_keys_returns_the_pinned_values_stored_in_databases() -> None:
    keys = ["", "a", "hello", "日本語", "\ud800", "e\u0301", "😀"]
    pinned = [
        17665956581633026203,
        198367012849983736,
        1656767905311477007,
        8638792154450581254,
        7576638374022918433,
        14662325865889826133,
        13672324803493586288,
    ]
    assert hash_keys(keys).tolist() == pinned
    assert hash_keys(keys).dtype == np.uint64


def test_hash_keys_equals_a_pure_python_fnv1a_and_splitmix64(rng: np.random.Generator) -> None:
    # one key far longer than the rest (finished key by key), and a group of long keys
    # (hashed a byte position at a time, the longest few finished key by key)
    long_group = ["y" * length for length in range(4_980, 5_020)]
    keys = [*AWKWARD_KEYS, "x" * 10_000, *long_group, *_random_keys(rng, 500)]
    assert hash_keys(keys).tolist() == [_reference_hash(key) for key in keys]


def test_hash_keys_of_no_keys_is_empty() -> None:
    assert hash_keys([]).shape == (0,)


def test_hash_keys_rejects_keys_that_are_not_strings() -> None:
    with pytest.raises(InputDataError, match=r"every key must be a str.*NoneType"):
        hash_keys(["a", None])  # type: ignore[list-item]
    with pytest.raises(InputDataError, match="single str"):
        hash_keys("abc")


# --- exact membership --------------------------------------------------------------------------


def test_every_added_key_is_seen_and_no_other_key_is(rng: np.random.Generator) -> None:
    long_keys = ["長" * 20_000, "a" * 100_000, "a" * 99_999 + "b"]
    keys = [*AWKWARD_KEYS, *long_keys, *_random_keys(rng, 20_000)]
    vocabulary = Vocabulary.from_keys(keys)
    assert not vocabulary.approximate
    assert vocabulary.n_exact == vocabulary.n_distinct == len(set(keys))
    assert vocabulary.contains(keys).all()

    # Never added: a marker no added key starts with, near misses (one character more or
    # less, the other Unicode normal form) and other surrogates.
    never = [*_random_keys(rng, 100_000, prefix="#"), "a" * 100_001, "a" * 99_999 + "c"]
    near = [key + "\u0301" for key in keys[:500]] + [key[:-1] for key in keys if key]
    near += ["\ud801", "\udfff", "e", "e\u0301\u0301"]
    added = set(keys)
    near = [key for key in near if key not in added]
    assert not vocabulary.contains(never).any()
    assert not vocabulary.contains(near).any()


def test_contains_accepts_arrays_and_empty_input() -> None:
    vocabulary = Vocabulary.from_keys(["a", "b"])
    assert vocabulary.contains(np.array(["b", "c"], dtype=object)).tolist() == [True, False]
    empty = vocabulary.contains([])
    assert empty.shape == (0,) and empty.dtype == np.bool_


def test_exact_part_does_not_see_a_key_whose_hash_matches_but_bytes_differ() -> None:
    pear = int(hash_keys(["pear"])[0])
    # Same length ("peas") exercises the byte comparison, another length ("apple") the length
    # check; the real keys "peas" and "apple" are not seen either, as their hashes differ.
    for stored in ["peas", "apple"]:
        forged = _forged([pear], [stored])
        assert forged.contains(["pear", stored]).tolist() == [False, False]


def test_many_hash_matches_are_verified_byte_by_byte() -> None:
    """More hash matches than are finished key by key: every stored key that differs from
    its probe in one byte, wherever it is, is not seen; the equal ones are."""
    probes = [f"key-{i:04d}-" + "x" * (i % 7) for i in range(40)]
    stored = [
        probe if i % 2 == 0 else probe[: i % len(probe)] + "#" + probe[i % len(probe) + 1 :]
        for i, probe in enumerate(probes)
    ]
    hashes = hash_keys(probes).tolist()
    order = np.argsort(hashes)
    forged = _forged([hashes[i] for i in order], [stored[i] for i in order])
    assert forged.contains(probes).tolist() == [i % 2 == 0 for i in range(40)]

    # the longest keys' last bytes, beyond the length most keys reach, are compared key by
    # key: a difference there is found too
    probes = [f"{i:02d}" + "x" * (28 + i) for i in range(40)]
    stored = [probe[:-1] + ("#" if i % 2 else "x") for i, probe in enumerate(probes)]
    hashes = hash_keys(probes).tolist()
    order = np.argsort(hashes)
    forged = _forged([hashes[i] for i in order], [stored[i] for i in order])
    assert forged.contains(probes).tolist() == [i % 2 == 0 for i in range(40)]


def test_exact_part_scans_a_whole_run_of_equal_hashes() -> None:
    pear = int(hash_keys(["pear"])[0])
    smaller, larger = pear - 1, pear + 1
    forged = _forged([smaller, pear, pear, pear, larger], ["x", "apple", "peas", "pear", "y"])
    assert forged.contains(["pear", "plum", "x"]).tolist() == [True, False, False]


@pytest.mark.parametrize("unsorted_max", [0, 1 << 40], ids=["sorted", "as-they-come"])
def test_match_keys_finds_each_key_at_its_index_in_the_table(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, unsorted_max: int
) -> None:
    """Whether the keys are searched in hash order (a large table) or as they come, a key is
    found where the table holds its bytes under its hash, a run of equal hashes included."""
    monkeypatch.setattr(vocabulary, "_UNSORTED_SEARCH_MAX", unsorted_max)
    stored = list(dict.fromkeys([*_random_keys(rng, 2_000), "apple", "peas", "pear"]))
    hashes = hash_keys(stored)
    pear = hashes[stored.index("pear")]
    hashes[stored.index("apple")] = hashes[stored.index("peas")] = pear
    order = np.argsort(hashes, kind="stable")
    table = EncodedKeys.from_strings([stored[i] for i in order])
    table_hashes = hashes[order]
    known = [stored[i] for i in rng.permutation(len(stored))[:1_500]]
    probes = list(dict.fromkeys([*known, *_random_keys(rng, 500, "new-"), "pear", "apple"]))

    matched = match_keys(EncodedKeys.from_strings(probes), table, table_hashes)

    at = {
        pair: j for j, pair in enumerate(zip(table.strings(), table_hashes.tolist(), strict=True))
    }
    expected = [at.get(pair, -1) for pair in zip(probes, hash_keys(probes).tolist(), strict=True)]
    assert matched.tolist() == expected
    # "pear" is found past the two other keys of its run; "apple", under another hash, is not
    assert table.strings([matched[probes.index("pear")]]) == ["pear"]
    assert matched[probes.index("apple")] == -1


# --- counting and chunks -----------------------------------------------------------------------


def test_chunked_adds_equal_one_add(rng: np.random.Generator) -> None:
    keys = _random_keys(rng, 30_000)
    counts = rng.integers(0, 4, len(keys))
    builder = VocabularyBuilder()
    for chunk in np.array_split(rng.permutation(len(keys)), 7):
        builder.add([keys[i] for i in chunk], counts[chunk])
    chunked = builder.build()

    total = Counter()
    for key, count in zip(keys, counts.tolist(), strict=True):
        total[key] += count
    seen = [key for key, count in total.items() if count]
    one = Vocabulary.from_keys(seen, [total[key] for key in seen])

    assert chunked.n_rows == one.n_rows == counts.sum()
    assert chunked.n_singletons == one.n_singletons == sum(c == 1 for c in total.values())
    assert np.array_equal(chunked.exact_hashes, one.exact_hashes)
    probes = [*keys, *_random_keys(rng, 5_000, prefix="#")]
    assert np.array_equal(chunked.contains(probes), one.contains(probes))
    assert chunked.contains(seen).all()


def test_counts_of_a_key_add_up_across_chunks() -> None:
    builder = VocabularyBuilder()
    builder.add(["a", "b"], [1, 1])
    builder.add(["a", "c", "a"], [1, 1, 2])
    vocabulary = builder.build()
    # a: 4, b: 1, c: 1
    assert (vocabulary.n_rows, vocabulary.n_singletons, vocabulary.n_exact) == (6, 2, 3)


def test_keys_with_count_zero_are_ignored() -> None:
    vocabulary = Vocabulary.from_keys(["a", "b", "c"], [2, 0, 1])
    assert vocabulary.contains(["a", "b", "c"]).tolist() == [True, False, True]
    assert (vocabulary.n_rows, vocabulary.n_singletons, vocabulary.n_distinct) == (3, 1, 2)


def test_singletons_and_singleton_share_match_a_direct_count(rng: np.random.Generator) -> None:
    values = [f"v{x}" for x in rng.zipf(1.5, 20_000)]
    counts = Counter(values)
    vocabulary = Vocabulary.from_keys(list(counts), list(counts.values()))
    singletons = sum(count == 1 for count in counts.values())
    assert vocabulary.n_singletons == singletons
    assert vocabulary.n_rows == len(values)
    assert vocabulary.singleton_share == singletons / len(values)
    assert Vocabulary.from_keys(values).n_singletons == singletons


def test_builder_stays_usable_after_build() -> None:
    builder = VocabularyBuilder(cap=2)
    builder.add(["a", "b", "c"], [3, 2, 1])
    first = builder.build()
    builder.add(["d"], [5])
    second = builder.build()
    assert first.contains(["d"]).tolist() == [False]
    assert second.contains(["a", "b", "c", "d"]).all()
    assert set(second.exact_hashes.tolist()) == set(hash_keys(["a", "d"]).tolist())


# --- the cap -----------------------------------------------------------------------------------


def test_cap_keeps_the_most_frequent_keys_exact_and_the_rest_in_the_bloom_filter(
    rng: np.random.Generator,
) -> None:
    vocabulary, keys, counts = _zipf_vocabulary(rng, cap=1_000)
    top = [key for _, key in sorted(zip((-c for c in counts), keys, strict=True))[:1_000]]
    assert set(vocabulary.exact_hashes.tolist()) == set(hash_keys(top).tolist())
    assert (vocabulary.n_exact, vocabulary.n_approximate) == (1_000, 49_000)
    assert vocabulary.n_distinct == 50_000 and vocabulary.approximate
    assert vocabulary.n_rows == sum(counts)
    assert vocabulary.contains(keys).all()


def test_false_seen_rate_beyond_the_cap_is_as_designed(rng: np.random.Generator) -> None:
    vocabulary, _, _ = _zipf_vocabulary(rng, cap=1_000)
    designed = (1 - math.exp(-BLOOM_PROBES / BLOOM_BITS_PER_VALUE)) ** BLOOM_PROBES
    assert BLOOM_PROBES == 11
    assert designed < 0.001
    assert vocabulary.false_seen_rate == pytest.approx(designed)
    never = [f"never-{i}" for i in range(200_000)]
    measured = vocabulary.contains(never).mean()
    assert measured < 2 * designed


def test_ties_at_the_cap_are_broken_by_key_text() -> None:
    keys = ["b", "\ud800", "a", "c", "😀", "z"]
    vocabulary = Vocabulary.from_keys(keys, [1, 1, 1, 1, 1, 5], cap=4)
    expected = ["z", *sorted(keys[:5])[:3]]  # z by count, then a, b, c by text
    assert set(vocabulary.exact_hashes.tolist()) == set(hash_keys(expected).tolist())
    assert vocabulary.contains(keys).all()


def test_bounded_memory_path_keeps_every_key(rng: np.random.Generator) -> None:
    cap = 100
    keys = [f"key-{i}" for i in range(5_000)]
    builder = VocabularyBuilder(cap=cap)
    added = Counter()
    for _ in range(60):
        chunk = rng.choice(
            len(keys), 300, p=np.r_[np.full(50, 0.5 / 50), np.full(4_950, 0.5 / 4_950)]
        )
        chunk_keys = [keys[i] for i in chunk]
        builder.add(chunk_keys, np.ones(len(chunk_keys), dtype=np.int64))
        added.update(chunk_keys)
        assert len(builder._counts) <= 2 * cap + 1
    vocabulary = builder.build()
    assert vocabulary.n_exact == cap
    assert vocabulary.n_approximate == len(added) - cap
    assert vocabulary.n_rows == added.total()
    assert vocabulary.contains(list(added)).all()
    # The 50 frequent keys are never evicted for long: they end up exact.
    frequent = hash_keys(keys[:50])
    assert np.isin(frequent, vocabulary.exact_hashes).all()


def test_one_add_larger_than_twice_the_cap_keeps_every_key(rng: np.random.Generator) -> None:
    keys = _random_keys(rng, 3_000, prefix="@")
    vocabulary = Vocabulary.from_keys(keys, cap=10)
    assert vocabulary.n_exact == 10
    assert vocabulary.n_distinct == len(set(keys))
    assert vocabulary.contains(keys).all()


@pytest.mark.parametrize("cap", [0, -1, 1.5, True, "10"])
def test_builder_rejects_a_cap_that_is_not_a_positive_integer(cap: object) -> None:
    with pytest.raises(ConfigError, match="`cap` must be an integer >= 1"):
        VocabularyBuilder(cap)  # type: ignore[arg-type]


def test_default_cap_is_a_million() -> None:
    assert DEFAULT_VOCABULARY_CAP == 1_000_000
    assert VocabularyBuilder().cap == DEFAULT_VOCABULARY_CAP


@pytest.mark.parametrize(
    ("keys", "counts", "message"),
    [
        (["a", 1], [1, 1], "every key must be a str"),
        (["a", "b"], [1], "one entry per key"),
        (["a", "b"], [1, -2], "must not be negative"),
        (["a", "b"], [1.5, 1.0], "whole numbers"),
        (["a", "b"], [np.nan, 1.0], "whole numbers"),
        (["a", "b"], ["1", "2"], "whole numbers"),
    ],
)
def test_add_rejects_bad_keys_and_counts(keys: list, counts: list, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        VocabularyBuilder().add(keys, counts)


def test_add_accepts_whole_float_counts() -> None:
    vocabulary = Vocabulary.from_keys(["a", "b"], np.array([2.0, 1.0]))
    assert (vocabulary.n_rows, vocabulary.n_singletons) == (3, 1)


# --- binary form -------------------------------------------------------------------------------


@pytest.mark.parametrize("cap", [DEFAULT_VOCABULARY_CAP, 50])
def test_round_trip_through_bytes_keeps_membership_and_counts(
    rng: np.random.Generator, cap: int
) -> None:
    keys = [*AWKWARD_KEYS, *_random_keys(rng, 2_000)]
    vocabulary = Vocabulary.from_keys(keys, rng.integers(1, 4, len(keys)), cap=cap)
    data = vocabulary.to_bytes()
    assert data[:8] == b"DMVOCAB1"
    probes = [*keys, *_random_keys(rng, 20_000, prefix="#")]
    for blob in (data, bytearray(data), memoryview(data)):
        loaded = Vocabulary.from_bytes(blob)
        assert loaded.to_bytes() == data
        for name in ("n_rows", "n_singletons", "n_exact", "n_approximate", "approximate"):
            assert getattr(loaded, name) == getattr(vocabulary, name)
        assert loaded.false_seen_rate == vocabulary.false_seen_rate
        assert np.array_equal(loaded.contains(probes), vocabulary.contains(probes))
    assert vocabulary.approximate == (cap == 50)


def test_from_bytes_wraps_the_bytes_without_copying(rng: np.random.Generator) -> None:
    data = Vocabulary.from_keys(_random_keys(rng, 1_000), cap=100).to_bytes()
    loaded = Vocabulary.from_bytes(data)
    whole = np.frombuffer(data, dtype=np.uint8)
    for array in (
        loaded.exact_hashes,
        loaded.exact_offsets,
        loaded.exact_bytes,
        loaded.bloom_words,
    ):
        assert np.shares_memory(array, whole)
        assert not array.flags.writeable
    writable = bytearray(data)
    assert not Vocabulary.from_bytes(writable).exact_hashes.flags.writeable


def test_binary_form_is_compact(rng: np.random.Generator) -> None:
    keys = [f"{i:010d}" for i in range(10_000)]
    exact = Vocabulary.from_keys(keys).to_bytes()
    approximate = Vocabulary.from_keys(keys, cap=1_000).to_bytes()
    # hash, offset, count and the key's bytes: 34 bytes a key
    assert len(exact) == 72 + 10_000 * (8 + 8 + 8 + 10) + 8
    # 16 bits a key beyond the cap instead of 34 bytes
    assert len(approximate) == 72 + 1_000 * 34 + 8 + 9_000 * BLOOM_BITS_PER_VALUE // 8


def _patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda data: b"", "truncated"),
        (lambda data: data[:40], "truncated"),
        (lambda data: data[:-1], "truncated or corrupt"),
        (lambda data: data + b"\x00", "truncated or corrupt"),
        (lambda data: _patched(data, 0, b"PK\x03\x04"), "not a driftmon vocabulary"),
        (lambda data: np.random.default_rng(1).bytes(len(data)), "not a driftmon vocabulary"),
        (lambda data: _patched(data, 8, (2).to_bytes(4, "little")), "version `2`"),
        # the first key offset (just after the two exact hashes) must be 0
        (lambda data: _patched(data, 72 + 2 * 8, (5).to_bytes(8, "little")), "exact_offsets"),
        # hashes out of order
        (lambda data: _patched(data, 72, ((1 << 64) - 1).to_bytes(8, "little")), "sorted"),
    ],
)
def test_from_bytes_rejects_corrupt_data(corrupt: Callable[[bytes], bytes], message: str) -> None:
    data = Vocabulary.from_keys(["a", "b", "c"], cap=2).to_bytes()
    with pytest.raises(InputDataError, match=message):
        Vocabulary.from_bytes(corrupt(data))


def test_from_bytes_rejects_objects_that_are_not_bytes() -> None:
    with pytest.raises(InputDataError, match="bytes-like"):
        Vocabulary.from_bytes("DMVOCAB1")  # type: ignore[arg-type]


# --- small things ------------------------------------------------------------------------------


def test_empty_vocabulary_sees_nothing() -> None:
    vocabulary = Vocabulary.from_keys([])
    assert vocabulary.contains(["", "a", "\ud800"]).tolist() == [False, False, False]
    assert (vocabulary.n_distinct, vocabulary.n_rows, vocabulary.singleton_share) == (0, 0, 0.0)
    assert vocabulary.false_seen_rate == 0.0
    loaded = Vocabulary.from_bytes(vocabulary.to_bytes())
    assert not loaded.contains([""]).any()
    assert len(vocabulary.to_bytes()) == 72 + 8


def test_exact_vocabulary_never_says_seen_falsely() -> None:
    vocabulary = Vocabulary.from_keys(["a"])
    assert vocabulary.false_seen_rate == 0.0 and not vocabulary.approximate


def test_repr_is_one_short_line(rng: np.random.Generator) -> None:
    vocabulary, _, _ = _zipf_vocabulary(rng, cap=1_000)
    text = repr(vocabulary)
    assert "\n" not in text and len(text) < 80
    assert text.startswith("Vocabulary(1,000 keys exact, 49,000 approximate, ")
    assert repr(Vocabulary.from_keys(["a", "b", "b"])) == (
        "Vocabulary(2 keys exact, 0 approximate, 33.3% singletons)"
    )


def test_counts_of_gives_the_reference_count_of_exact_keys_and_zero_otherwise() -> None:
    vocabulary = Vocabulary.from_keys(["a", "b", "c", "a"], [3, 1, 2, 4], cap=2)
    assert vocabulary.counts_of(["a", "c", "b", "zzz"]).tolist() == [7, 2, 0, 0]
    loaded = Vocabulary.from_bytes(vocabulary.to_bytes())
    assert loaded.counts_of(["a", "c"]).tolist() == [7, 2]
    assert loaded.contains(["b"]).tolist() == [True]  # beyond the cap: seen, count unknown


# --------------------------------------------------------------------------------------------
# Keys as UTF-8 bytes (an ID-like column's large dictionary)


def _awkward_keys(rng: np.random.Generator, n: int) -> list[str]:
    """Distinct keys with shared prefixes (IDs), embedded NULs, multi-byte and lone
    surrogate characters, empty and long ones."""
    ids = [f"customer-{i:08d}" for i in rng.choice(10**8, n, replace=False)]
    longer = [key + "x" * int(rng.integers(0, 20)) for key in ids[:50]]
    return list(dict.fromkeys([*AWKWARD_KEYS, "a\x00b", "ab", "z" * 40, *ids, *longer]))


def test_encoded_keys_smallest_is_str_order(rng: np.random.Generator) -> None:
    keys = _awkward_keys(rng, 3_000)
    encoded = EncodedKeys.from_strings(keys)
    for k in (1, 5, 20, 200, len(keys)):
        rows = rng.permutation(len(keys))[: len(keys) // 2 + k]
        assert encoded.smallest(rows, k) == sorted(keys[i] for i in rows)[:k], k
    assert encoded.strings([3, 0, 2]) == [keys[3], keys[0], keys[2]]


def test_counting_keys_as_bytes_equals_counting_them_as_strings(rng: np.random.Generator) -> None:
    """Kept categories, the vocabulary's verdicts, never-seen and long-tail top lists (ties
    broken by key) all come out exactly as from Python strings, over many random columns."""
    for trial in range(20):
        keys = _awkward_keys(rng, int(rng.integers(100, 3_000)))
        reference_keys = [k for k in keys if rng.random() < 0.5] or keys[:1]
        weights = rng.zipf(1.3 + trial / 10, len(reference_keys)).astype(float)
        reference = pd.Series(
            rng.choice(reference_keys, 20_000, p=weights / weights.sum()), dtype=object
        )
        spec = fit_bins(reference, kind="categorical", max_categories=int(rng.integers(1, 60)))
        counts = rng.integers(0, 4, len(keys))  # zero counts too: keys a chunk did not hold
        as_bytes = count_values(spec, ValueCounts(EncodedKeys.from_strings(keys), counts, 7))
        as_strings = count_values(spec, ValueCounts(keys, counts, 7))
        np.testing.assert_array_equal(as_bytes.counts, as_strings.counts)
        assert as_bytes.n_unseen == as_strings.n_unseen
        assert as_bytes.unseen == as_strings.unseen
        assert as_bytes.tail == as_strings.tail


@pytest.fixture
def colliding_hash(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A hash under which ``key!`` collides with ``key``; the category tables cached under it
    (`driftmon.bins`) are dropped before and after, so no other test sees them."""
    real = vocabulary._hash

    def colliding(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        hashes = real(data, offsets).copy()
        for i in range(offsets.size - 1):
            key = data[offsets[i] : offsets[i + 1]].tobytes()
            if key.endswith(b"!"):
                trimmed = np.frombuffer(key[:-1], dtype=np.uint8)
                hashes[i] = real(trimmed, np.array([0, trimmed.size]))[0]
        return hashes

    monkeypatch.setattr(vocabulary, "_hash", colliding)
    bins._category_table_of.cache_clear()
    yield
    bins._category_table_of.cache_clear()


@pytest.mark.usefixtures("colliding_hash")
def test_keys_as_bytes_whose_hash_matches_a_category_are_verified(
    rng: np.random.Generator,
) -> None:
    """With a hash under which ``key!`` collides with ``key``, a batch key ``c!`` is not counted
    as category ``c``, nor seen because ``c`` was: every match is checked byte by byte."""
    categories = [f"c{i}" for i in range(30)]
    reference = pd.Series(rng.choice(categories, 5_000), dtype=object)
    spec = fit_bins(reference, kind="categorical", max_categories=10)
    keys = [*categories, *(f"{c}!" for c in categories)]
    counts = rng.integers(1, 50, len(keys))

    as_bytes = count_values(spec, ValueCounts(EncodedKeys.from_strings(keys), counts))
    as_strings = count_values(spec, ValueCounts(keys, counts))

    np.testing.assert_array_equal(as_bytes.counts, as_strings.counts)
    assert as_bytes.n_unseen == as_strings.n_unseen == counts[30:].sum()
    assert as_bytes.unseen == as_strings.unseen


@pytest.mark.usefixtures("colliding_hash")
def test_kept_categories_whose_hashes_collide_each_count_their_own_keys(
    rng: np.random.Generator,
) -> None:
    """Kept categories ``d`` and ``d!`` with one hash: keys as bytes still land in their own
    category's slot (the match scans the run of equal hashes), as keys as strings do."""
    names = [f"d{i}" for i in range(8)]
    keys = [*names, *(f"{name}!" for name in names), "new", "new!"]
    reference = pd.Series(rng.choice(keys[:16], 5_000), dtype=object)
    spec = fit_bins(reference, kind="categorical", max_categories=12)
    both_kept = [name for name in names if {name, f"{name}!"} <= set(spec.categories)]
    assert len(both_kept) >= 4
    counts = rng.integers(1, 50, len(keys))

    as_bytes = count_values(spec, ValueCounts(EncodedKeys.from_strings(keys), counts))
    as_strings = count_values(spec, ValueCounts(keys, counts))

    np.testing.assert_array_equal(as_bytes.counts, as_strings.counts)
    for slot, category in enumerate(spec.categories):
        assert as_bytes.counts[slot] == counts[keys.index(category)]
    assert as_bytes.n_unseen == as_strings.n_unseen == counts[-2:].sum()
    assert as_bytes.unseen == as_strings.unseen
    assert as_bytes.tail == as_strings.tail
