"""GarbagePacer: automatic collection is off while the canvas runs, and collections come when they are due."""

from __future__ import annotations

import gc

from bridge.app.garbage import GarbagePacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_automatic_collection_is_off_between_start_and_stop_and_comes_back():
    assert gc.isenabled()
    pacer = GarbagePacer()
    pacer.start()
    try:
        assert not gc.isenabled()
    finally:
        pacer.stop()
    assert gc.isenabled()


def test_young_generations_between_strokes_everything_in_a_pause_and_the_youngest_in_a_long_stroke():
    clock = Clock()
    pacer = GarbagePacer(young_every_s=1.0, full_every_s=60.0, quiet_s=2.0, busy_limit_s=5.0, clock=clock)
    pacer.start()
    try:
        pacer.tick(idle=True)
        assert pacer.collections == [0, 0, 0]  # nothing due yet
        clock.now += 1.0
        pacer.tick(idle=False)  # drawing: the young generations wait for the stroke to end
        assert pacer.collections == [0, 0, 0]
        pacer.tick(idle=True)
        assert pacer.collections == [0, 1, 0]
        pacer.tick(idle=True)
        assert pacer.collections == [0, 1, 0]  # at most every young_every_s
        for _ in range(12):  # a stroke held for 12 s: the youngest generation every busy_limit_s
            clock.now += 1.0
            pacer.tick(idle=False)
        assert pacer.collections == [2, 1, 0]
        clock.now += 50.0
        pacer.tick(idle=False)  # 50 s more of the stroke: the youngest generation again
        assert pacer.collections == [3, 1, 0]
        clock.now += 1.9  # a full collection is due, but only after quiet_s without playing
        pacer.tick(idle=True)
        assert pacer.collections == [3, 2, 0]
        clock.now += 0.2
        pacer.tick(idle=True)
        assert pacer.collections == [3, 2, 1]
        clock.now += 30.0
        pacer.tick(idle=True)
        assert pacer.collections == [3, 3, 1]  # the next full one not before full_every_s
    finally:
        pacer.stop()


def test_a_tick_collects_cyclic_garbage_the_automatic_collector_would_have():
    pacer = GarbagePacer(young_every_s=0.0, clock=Clock())
    pacer.start()
    try:
        class Node:
            pass

        node = Node()
        node.self = node  # a cycle: only the collector frees it
        found = []
        gc.callbacks.append(lambda phase, info: found.append(info.get("collected", 0)) if phase == "stop" else None)
        del node
        pacer.tick(idle=True)
        assert pacer.collections == [0, 1, 0] and sum(found) >= 1
    finally:
        gc.callbacks.pop()
        pacer.stop()
