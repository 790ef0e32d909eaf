"""Many connections to one engine go through small pools (`engines/_pools.py`): the split, requests spread to the
least busy pool, every slot given back whether the answer was read, failed or was abandoned, and every byte still
counted as the engine's."""

from __future__ import annotations

import asyncio

import pytest

from llamune_eval import egress
from llamune_eval.config import Timeouts
from llamune_eval.engines._http import make_client
from llamune_eval.engines._pools import ShardedTransport, sizes
from tests.stubs.faults import FaultServer


def test_connections_split_into_even_pools_of_at_most_eight() -> None:
    assert sizes(1) == [1] and sizes(8) == [8] and sizes(10) == [5, 5] and sizes(20) == [7, 7, 6]
    assert sizes(64) == [8] * 8 and sizes(0) == [1]


async def test_concurrent_requests_spread_over_the_pools_and_give_their_slots_back() -> None:
    st = egress.state()
    with FaultServer(["500", "reset"], delay_s=0.05) as srv:  # one refused, one cut mid-answer, 18 answered
        client = make_client(srv.url, Timeouts(), max_connections=20)
        transport = client._transport
        assert isinstance(transport, ShardedTransport) and [len(p._pool._connections) for p in transport.pools] == [
            0, 0, 0]  # fmt: skip
        before = st.engine_bytes
        seen: list[list[int]] = []

        async def one() -> int:
            async with client.stream("POST", "/v1/chat/completions", json={"model": "m", "messages": []}) as r:
                seen.append(list(transport.busy))
                try:
                    return len([line async for line in r.aiter_lines()])
                except Exception:
                    return -1

        async with client:
            got = await asyncio.gather(*(one() for _ in range(20)))
            assert transport.busy == [0, 0, 0]  # every slot back: answered, refused and cut alike
            opened = [len(p._pool._connections) for p in transport.pools]
            # abandoned before its body was read: the slot comes back when the response closes
            async with client.stream("POST", "/v1/chat/completions", json={"model": "m", "messages": []}):
                assert sum(transport.busy) == 1
            assert transport.busy == [0, 0, 0]
    # 20 at once: every pool filled to its size (less the connection the cut answer closed)
    assert sum(opened) >= 19 and all(o <= size for o, size in zip(opened, [7, 7, 6], strict=True))
    assert max(max(b) for b in seen) <= 7 and got.count(-1) <= 1
    assert st.engine_bytes > before


@pytest.mark.parametrize("connections", [1, 8])
async def test_one_pool_when_few_connections(connections: int) -> None:
    with FaultServer() as srv:
        client = make_client(srv.url, Timeouts(), max_connections=connections)
        async with client:
            r = await client.get("/v1/models")
        assert r.status_code == 200 and len(client._transport.pools) == 1  # type: ignore[attr-defined]
