"""`--shard K/N` parsing and ownership (pure)."""

import pytest

from mono.temporal.workers import Shard


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "2/0", "-1/2", "1/2/3", ""])
def test_bad_shard_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match=r"K/N .*2/4"):
        Shard.parse(text)


def test_shards_split_tenants_without_overlap_or_gap():
    shards = [Shard.parse(f"{k}/3") for k in (1, 2, 3)]
    for tenant_id in range(1, 100):
        assert sum(shard.owns(tenant_id) for shard in shards) == 1
