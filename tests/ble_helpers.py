"""Helpers the Bluetooth LE tests share (imported by the tests): wait for a condition in asyncio,
and collect a recorder's chunks and events."""

from __future__ import annotations

import asyncio
import time

import numpy as np


async def until(cond, timeout=5.0):
    """Wait (polling every 10 ms) until ``cond()`` holds; AssertionError after ``timeout`` s."""
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class Collector:
    """A recorder's ``on_chunk``/``on_event`` target: ``stream(name)`` gives ``(t_s, data)`` of all
    chunks of one stream (empty: no samples, ``width`` channels)."""

    def __init__(self, width: int = 3):
        self.chunks, self.events, self.width = [], [], width

    def stream(self, name):
        cs = [c for c in self.chunks if c.stream == name]
        if not cs:
            return np.zeros(0), np.zeros((0, self.width))
        return np.concatenate([c.t_s for c in cs]), np.concatenate([c.data for c in cs])

    def kinds(self):
        return [e.kind for e in self.events]
