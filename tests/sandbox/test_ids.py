"""Link, webhook and event ids: the prefix, then 24 letters and digits, each equally likely."""

from __future__ import annotations

import collections

from pik_sandbox.store import ID_ALPHABET, ID_RANDOM_LENGTH, new_link_id


def test_ids_use_every_letter_and_digit_evenly() -> None:
    ids = [new_link_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(link_id) == 3 + ID_RANDOM_LENGTH and link_id[:3] == "pl_" for link_id in ids)
    counts = collections.Counter("".join(link_id[3:] for link_id in ids))
    assert set(counts) == set(ID_ALPHABET)
    expected = len(ids) * ID_RANDOM_LENGTH / len(ID_ALPHABET)
    chi_square = sum((seen - expected) ** 2 / expected for seen in counts.values())
    # 61 degrees of freedom: above 120 happens by chance far less than once in a million runs;
    # a modulo bias (bytes 248-255 kept) or a missing character lands well above it.
    assert chi_square < 120, chi_square
