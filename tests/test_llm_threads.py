"""Adaptive llama.cpp threads: every core when the machine is otherwise idle, one fewer when another
process keeps a core busy; our own CPU time never counts against us."""

from __future__ import annotations

import pytest

from rag.llm import threads as th
from rag.llm.embedded import LoadedModel
from rag.llm.threads import ThreadAdvisor, _Reading


class Clock:
    """Scripted /proc/stat readings: each step adds wall seconds, busy CPU seconds (all processes)
    and own CPU seconds."""

    def __init__(self) -> None:
        self.now = _Reading(wall=100.0, busy=500.0, own=10.0)
        self.steps: list[tuple[float, float, float]] = []

    def __call__(self) -> _Reading:
        if self.steps:
            wall, busy, own = self.steps.pop(0)
            self.now = _Reading(self.now.wall + wall, self.now.busy + busy, self.now.own + own)
        return self.now


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(th.time, "sleep", lambda s: None)


def advisor(steps, cores=2):
    clock = Clock()
    clock.steps = list(steps)
    return ThreadAdvisor(cores=cores, reader=clock)


def test_idle_machine_uses_every_core():
    # first call: a fresh sample (0.15 s, nothing else busy)
    assert advisor([(0, 0, 0), (0.15, 0.0, 0.0)]).threads() == 2


def test_our_own_decoding_does_not_count():
    a = advisor([(0, 0, 0), (0.15, 0.0, 0.0), (10.0, 19.5, 19.5)])  # we used both cores for 10 s
    assert a.threads() == 2
    assert a.threads() == 2 and a.last_other_load == pytest.approx(0.0)


def test_another_busy_process_takes_a_thread_away():
    a = advisor([(0, 0, 0), (0.15, 0.0, 0.0), (10.0, 19.0, 9.5)])  # someone else used 0.95 core
    assert a.threads() == 2
    assert a.threads() == 1 and a.last_other_load == pytest.approx(0.95)


def test_a_little_background_noise_is_tolerated():
    a = advisor([(0, 0, 0), (0.15, 0.0, 0.0), (10.0, 3.0, 0.0)])  # 0.3 of a core
    a.threads()
    assert a.threads() == 2


def test_more_cores_leave_as_many_as_are_busy():
    a = advisor([(0, 0, 0), (0.15, 0.0, 0.0), (10.0, 25.0, 0.0)], cores=8)  # 2.5 cores busy elsewhere
    a.threads()
    assert a.threads() == 5  # 5.5 cores free


def test_stale_window_is_resampled():
    a = advisor([(0, 0, 0), (0.15, 0.0, 0.0), (120.0, 200.0, 0.0), (0.15, 0.0, 0.0)])
    a.threads()
    assert a.threads() == 2  # the 2-minute window is too old; the fresh 0.15 s sample is idle


def test_unreadable_proc_stat_means_every_core():
    assert ThreadAdvisor(cores=2, reader=lambda: None).threads() == 2
    assert ThreadAdvisor(cores=1, reader=lambda: None).threads() == 1


def test_real_proc_stat_reads():
    a = ThreadAdvisor()
    assert 1 <= a.threads() <= 8 and a.last_other_load is not None


def test_fixed_threads_are_never_changed(monkeypatch):
    class Adv:
        def threads(self):
            raise AssertionError("not adaptive: must not be asked")

    LoadedModel(llama=object(), load_seconds=0.0, adaptive=False, threads=3, advisor=Adv()).before_call()
