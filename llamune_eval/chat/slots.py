"""concurrentLimit as slots with a queue order: the user's answer (MAIN) is served before cross-checks and titles
waiting for a slot, whenever they were queued. A plain semaphore serves in arrival order, so a question asked
while the previous turn's cross-checks still wait would queue behind them."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

MAIN, BACKGROUND = 0, 1


class Slots:
    def __init__(self, limit: int) -> None:
        self.limit = self.free = max(1, limit)
        self.waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self.order = itertools.count()

    async def acquire(self, priority: int = BACKGROUND) -> None:
        if self.free and not self.waiting:
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (priority, next(self.order), future)
        heapq.heappush(self.waiting, entry)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed a slot in the same moment: give it on
                self.release()
            elif entry in self.waiting:
                self.waiting.remove(entry)
                heapq.heapify(self.waiting)
            raise

    def resize(self, limit: int) -> None:
        """A new concurrentLimit (settings applied mid-session): answers running now finish; beyond the new limit
        no slot is handed on until enough of them have."""
        limit = max(1, limit)
        self.free += limit - self.limit
        self.limit = limit
        while self.free > 0 and self.waiting:
            self.free -= 1
            self.release()

    def release(self) -> None:
        if self.free < 0:  # over a lowered limit: this slot is gone
            self.free += 1
            return
        while self.waiting:
            _, _, future = heapq.heappop(self.waiting)
            if not future.done():
                future.set_result(None)
                return
        self.free += 1

    @asynccontextmanager
    async def slot(self, priority: int = BACKGROUND) -> AsyncIterator[None]:
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()
