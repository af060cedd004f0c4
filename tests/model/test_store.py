"""MetricStore: merge by step, rewinds, non-finite counting, views and memory (design.md §4).

The property test replays random reader outputs against a plain-dict reference written from the
rules in the store's docstring, not from the store's code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rltui.model.store import MetricStore, Series
from rltui.records import PointChunk


def chunk(steps: list[int], values: list[float], walls: list[float] | None = None) -> PointChunk:
    if walls is None:
        walls = [float(s) for s in steps]
    return PointChunk.from_lists(steps, walls, values)


def as_dict(store: MetricStore, name: str) -> dict[int, float]:
    s = store.get(name)
    if s is None:
        return {}
    return dict(zip(s.steps.tolist(), s.values.tolist(), strict=True))


# -- appends ----------------------------------------------------------------------------------


def test_append_reuses_buffers_and_grows_geometrically() -> None:
    """Appending k points touches O(k) memory: buffers are reused until full, then grown by a factor."""
    store = MetricStore()
    buffers: set[int] = set()
    n = 20_000
    for i in range(n):
        store.add("a", {"loss": chunk([i], [float(i)])})
        buffers.add(id(store["loss"]._steps))
    series = store["loss"]
    assert len(series) == n
    assert np.array_equal(series.steps, np.arange(n))
    # Geometric growth from 64 by 1.25 reaches 20k in ~26 reallocations; a copy per append would be 20k.
    assert len(buffers) <= math.ceil(math.log(n / 64) / math.log(1.25)) + 2
    assert len(store["loss"]._steps) < 1.3 * n


def test_append_does_not_copy_existing_points() -> None:
    store = MetricStore()
    store.add("a", {"x": chunk(list(range(10)), [0.0] * 10)})
    buf = store["x"]._values
    before = buf.__array_interface__["data"][0]
    store.add("a", {"x": chunk([10, 11], [1.0, 2.0])})
    assert store["x"]._values.__array_interface__["data"][0] == before  # same memory, no copy
    assert store["x"].values.tolist() == [0.0] * 10 + [1.0, 2.0]


# -- merging ----------------------------------------------------------------------------------


def test_same_step_from_two_sources_newest_wins_and_is_not_doubled() -> None:
    store = MetricStore()
    store.add("events", {"loss": chunk([1, 2, 3], [0.5, 0.4, 0.3])})
    store.add("state", {"loss": chunk([2, 3, 4], [0.41, 0.31, 0.21])})
    assert as_dict(store, "loss") == {1: 0.5, 2: 0.41, 3: 0.31, 4: 0.21}
    store.add("events", {"loss": chunk([4], [0.2])})
    assert as_dict(store, "loss")[4] == 0.2
    assert len(store["loss"]) == 4


def test_duplicate_steps_within_a_chunk_keep_the_last() -> None:
    """``train/epoch`` is written again at eval steps: one point per step, the last value."""
    store = MetricStore()
    store.add("events", {"epoch": chunk([1, 2, 2, 3, 3], [0.1, 0.2, 0.21, 0.3, 0.31])})
    assert as_dict(store, "epoch") == {1: 0.1, 2: 0.21, 3: 0.31}


def test_interleaved_steps_from_another_source_are_sorted_in() -> None:
    store = MetricStore()
    store.add("a", {"m": chunk([2, 4, 6], [2.0, 4.0, 6.0])})
    store.add("b", {"m": chunk([1, 3, 5, 7], [1.0, 3.0, 5.0, 7.0])})
    s = store["m"]
    assert s.steps.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert s.values.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_a_source_without_clock_keeps_the_existing_wall_time() -> None:
    store = MetricStore()
    store.add("events", {"loss": chunk([1, 2], [0.5, 0.4], [100.0, 101.0])})
    store.add("state", {"loss": chunk([1, 2], [0.51, 0.41], [math.nan, math.nan])})
    assert store["loss"].wall_times.tolist() == [100.0, 101.0]
    assert store["loss"].values.tolist() == [0.51, 0.41]


# -- rewinds ----------------------------------------------------------------------------------


def test_step_going_back_within_a_source_replaces_later_points() -> None:
    store = MetricStore()
    store.add("events", {"loss": chunk(list(range(1, 11)), [1.0] * 10), "lr": chunk([1, 2], [0.1, 0.2])})
    store.add("events", {"loss": chunk([6, 7], [2.0, 2.0])})
    assert as_dict(store, "loss") == {**dict.fromkeys(range(1, 6), 1.0), 6: 2.0, 7: 2.0}
    assert as_dict(store, "lr") == {1: 0.1, 2: 0.2}  # only the rewound metric is cut


def test_rewind_inside_one_chunk() -> None:
    store = MetricStore()
    store.add("events", {"loss": chunk([1, 2, 3, 4, 2, 3], [1.0, 1.0, 1.0, 1.0, 2.0, 2.0])})
    assert as_dict(store, "loss") == {1: 1.0, 2: 2.0, 3: 2.0}


def test_rewind_at_chunk_start_and_again_inside_the_chunk() -> None:
    """Two rewinds in one read: the points between them from the old run must go too."""
    store = MetricStore()
    store.add("events", {"m": chunk(list(range(1, 11)), [1.0] * 10)})
    store.add("events", {"m": chunk([5, 8, 7, 8], [2.0, 2.0, 3.0, 3.0])})
    assert as_dict(store, "m") == {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0, 7: 3.0, 8: 3.0}


def test_a_backward_point_at_the_end_is_kept_until_the_next_point_decides() -> None:
    """Nothing is cut on a guess: the last point read may be a stray or the start of a resume."""
    store = MetricStore()
    store.add("events", {"m": chunk(list(range(1, 11)), [1.0] * 10)})
    store.add("events", {"m": chunk([5], [2.0])})
    assert as_dict(store, "m") == {**dict.fromkeys(range(1, 11), 1.0), 5: 2.0}
    assert [(n.kind, n.step, n.high) for n in store.take_order_notes()] == [("pending", 5, 10)]
    store.add("events", {"m": chunk([6], [2.0])})  # continues below 10: it was a resume
    assert as_dict(store, "m") == {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0, 6: 2.0}
    assert [(n.kind, n.step) for n in store.take_order_notes()] == [("resume", 5)]


def test_a_stray_point_in_the_middle_cuts_nothing() -> None:
    store = MetricStore()
    steps = [*range(1, 251), 0, *range(251, 501)]
    store.add("jsonl", {"m": chunk(steps, [1.0] * len(steps))})
    assert len(store["m"]) == 501
    assert [(n.kind, n.step, n.high) for n in store.take_order_notes()] == [("stray", 0, 250)]


def test_another_source_repeating_an_earlier_step_is_not_a_rewind() -> None:
    store = MetricStore()
    store.add("events", {"loss": chunk([1, 2, 3, 4], [1.0, 1.0, 1.0, 1.0])})
    store.add("state", {"loss": chunk([1, 2], [5.0, 5.0])})
    assert as_dict(store, "loss") == {1: 5.0, 2: 5.0, 3: 1.0, 4: 1.0}


def test_restating_source_replaces_by_step_without_rewinding_or_doubling() -> None:
    store = MetricStore()
    store.add("state", {"loss": chunk([1, 2, 3], [1.0, 2.0, 3.0])})
    store.add("state", {"loss": chunk([1, 2, 3, 4], [1.5, 2.5, 3.5, 4.5])}, restarted=True, restates=True)
    assert as_dict(store, "loss") == {1: 1.5, 2: 2.5, 3: 3.5, 4: 4.5}


def test_restating_source_keeps_what_other_sources_gave_beyond_it() -> None:
    """A trainer_state.json rewritten at checkpoint 150 must not cut the event file's 151-160."""
    store = MetricStore()
    store.add("events", {"loss": chunk(list(range(1, 161)), [1.0] * 160)})
    store.add("state", {"loss": chunk(list(range(1, 151)), [2.0] * 150)})
    store.add("state", {"loss": chunk(list(range(1, 151)), [3.0] * 150)}, restarted=True, restates=True)
    got = as_dict(store, "loss")
    assert sorted(got) == list(range(1, 161))
    assert {got[s] for s in range(1, 151)} == {3.0}
    assert {got[s] for s in range(151, 161)} == {1.0}


def test_restarted_source_voids_its_old_points_from_its_new_first_step() -> None:
    """An event file replaced by a shorter one (a run started again): steps 4-11 are gone."""
    store = MetricStore()
    steps = list(range(1, 12))
    store.add("events", {"loss": chunk(steps, [1.0] * 11), "eval_loss": chunk([5, 10], [9.0, 8.0])})
    store.add("events", {"loss": chunk([1, 2, 3], [2.0, 2.0, 2.0])}, restarted=True)
    assert as_dict(store, "loss") == {1: 2.0, 2: 2.0, 3: 2.0}
    assert "eval_loss" not in store  # the restarted file has not (yet) logged an eval
    store.add("events", {"loss": chunk([4], [2.5])})
    assert as_dict(store, "loss") == {1: 2.0, 2: 2.0, 3: 2.0, 4: 2.5}


def test_restart_seen_empty_voids_at_the_first_points_that_follow() -> None:
    """A file truncated to 0 bytes is read empty (restarted) before it is written again."""
    store = MetricStore()
    store.add("log", {"loss": chunk(list(range(1, 12)), [1.0] * 11)})
    store.add("log", {}, restarted=True)
    assert len(store["loss"]) == 11  # nothing says yet which steps are void
    store.add("log", {"loss": chunk([1, 2, 3], [2.0, 2.0, 2.0])})
    assert as_dict(store, "loss") == {1: 2.0, 2: 2.0, 3: 2.0}


def test_restarted_source_continuing_later_keeps_earlier_points() -> None:
    """A replaced file that starts after the old last step (a copy of a newer segment) cuts nothing."""
    store = MetricStore()
    store.add("events", {"loss": chunk([1, 2, 3], [1.0, 1.0, 1.0])})
    store.add("events", {"loss": chunk([4, 5], [2.0, 2.0])}, restarted=True)
    assert as_dict(store, "loss") == {1: 1.0, 2: 1.0, 3: 1.0, 4: 2.0, 5: 2.0}


# -- readers holding slices while the store changes (the dashboard reads from another thread) ---


def test_slow_merge_never_changes_a_slice_taken_before() -> None:
    s = Series("x")
    s.merge(np.arange(0, 20, 2, dtype=np.int64), np.zeros(10), np.arange(10, dtype=np.float64))
    steps, values = s.steps, s.values
    before = (steps.copy(), values.copy())
    s.merge(np.array([3, 4, 5], dtype=np.int64), np.zeros(3), np.array([-1.0, -2.0, -3.0]))
    assert np.array_equal(steps, before[0])
    assert np.array_equal(values, before[1])
    assert s.steps.tolist() == [0, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 18]
    assert s.values.tolist()[:6] == [0.0, 1.0, -1.0, -2.0, -3.0, 3.0]


def test_replacing_values_never_changes_a_slice_taken_before() -> None:
    s = Series("x")
    s.merge(np.arange(10, dtype=np.int64), np.zeros(10), np.zeros(10))
    values = s.values
    s.merge(np.array([2, 3], dtype=np.int64), np.ones(2), np.ones(2))
    assert values.tolist() == [0.0] * 10
    assert s.values.tolist() == [0.0, 0.0, 1.0, 1.0] + [0.0] * 6


def test_truncate_then_append_never_changes_a_slice_taken_before() -> None:
    s = Series("x")
    s.merge(np.arange(10, dtype=np.int64), np.zeros(10), np.zeros(10))
    steps, values = s.steps, s.values
    s.truncate_from(5)
    s.merge(np.array([5, 6, 7], dtype=np.int64), np.zeros(3), np.full(3, 7.0))
    assert steps.tolist() == list(range(10))
    assert values.tolist() == [0.0] * 10
    assert s.values.tolist() == [0.0] * 5 + [7.0] * 3


# -- non-finite -------------------------------------------------------------------------------


def test_nonfinite_count_follows_replacements_and_truncation() -> None:
    store = MetricStore()
    store.add("a", {"g": chunk([1, 2, 3, 4], [math.nan, 1.0, math.inf, -math.inf])})
    assert store["g"].nonfinite == 3
    store.add("b", {"g": chunk([1], [0.5])})  # NaN replaced by a finite value
    assert store["g"].nonfinite == 2
    store.add("b", {"g": chunk([2], [math.nan])})  # finite replaced by NaN
    assert store["g"].nonfinite == 3
    store.add("a", {"g": chunk([3, 4], [1.0, 1.0])})  # a resume of source a at 3 drops step 4 (-inf)
    assert store["g"].steps.tolist() == [1, 2, 3, 4]
    assert store["g"].nonfinite == 1


# -- views ------------------------------------------------------------------------------------


def test_view_at_step_is_the_series_as_of_that_step() -> None:
    store = MetricStore()
    store.add("a", {"m": chunk([10, 20, 30, 40], [1.0, 2.0, 3.0, 4.0])})
    full = store.view("m")
    assert full is not None
    assert full.last == 4.0
    assert full.last_step == 40
    v = store.view("m", at_step=25)
    assert v is not None
    assert v.steps.tolist() == [10, 20]
    assert v.last == 2.0
    exact = store.view("m", at_step=30)
    assert exact is not None
    assert exact.last_step == 30
    assert store.view("m", at_step=5) is None
    assert store.view("missing") is None
    assert store.last_step == 40
    assert store.names() == ["m"]


# -- memory -----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [1, 37, 1000])
def test_bytes_per_point_for_a_long_series(chunk_size: int) -> None:
    store = MetricStore()
    n = 100_000
    steps = np.arange(n, dtype=np.int64)
    values = np.sin(steps).astype(np.float64)
    walls = steps.astype(np.float64)
    for a in range(0, n, chunk_size):
        b = min(n, a + chunk_size)
        store.add("e", {"x": PointChunk(steps[a:b], walls[a:b], values[a:b])})
    assert len(store["x"]) == n
    assert store.nbytes() / n <= 32
    assert np.array_equal(store["x"].values, values)


# -- property: the store against a reference built from the documented rules ----------------


class Reference:
    """Plain dicts: newest value per step; a step below the source's previous step cuts the series."""

    def __init__(self) -> None:
        self.series: dict[str, dict[int, float]] = {}
        self.last: dict[tuple[str, str], int] = {}
        self.pending: set[str] = set()
        self.back: dict[tuple[str, str], tuple[int, float, int]] = {}

    def add(self, source: str, name: str, steps: list[int], values: list[float], how: str) -> None:
        if how != "append":
            self.back = {k: v for k, v in self.back.items() if k[0] != source}
        if how == "restates":
            self.last = {k: v for k, v in self.last.items() if k[0] != source}
            self.pending.discard(source)
        elif how == "restarted":
            self.pending.add(source)
        if steps and source in self.pending:
            # The source started over: what it gave at or after its new first step is void.
            self.pending.discard(source)
            first = steps[0]
            for key in [k for k in self.last if k[0] == source]:
                cut = self.series.get(key[1], {})
                for k in [k for k in cut if k >= first]:
                    del cut[k]
                del self.last[key]
        series = self.series.setdefault(name, {})
        key = (source, name)
        for i, (s, v) in enumerate(zip(steps, values, strict=True)):
            pend = self.back.pop(key, None)
            if pend is not None:  # the point after a backward one decides what it was
                p_step, p_value, high = pend
                if s <= high:  # a resume: the old run's points from there on go
                    for k in [k for k in series if k >= p_step]:
                        del series[k]
                    series[p_step] = p_value
                    self.last[key] = p_step
            prev = self.last.get(key)
            if prev is not None and s < prev:
                series[s] = v
                if i == len(steps) - 1:
                    self.back[key] = (s, v, prev)  # kept; decided by the next point
                elif steps[i + 1] > prev:
                    pass  # a stray: kept by step, the high mark stays
                else:
                    for k in [k for k in series if k > s]:
                        del series[k]
                    self.last[key] = s
                continue
            series[s] = v
            self.last[key] = s


finite_or_not = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan), st.just(math.inf), st.just(-math.inf)
)
op = st.tuples(
    st.sampled_from(["events", "state", "console"]),
    st.sampled_from(["loss", "kl"]),
    st.lists(st.tuples(st.integers(0, 12), finite_or_not), min_size=0, max_size=12),
    st.sampled_from(["append", "append", "restarted", "restates"]),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(op, min_size=1, max_size=15))
def test_store_matches_reference(ops: list[tuple[str, str, list[tuple[int, float]], str]]) -> None:
    store, ref = MetricStore(), Reference()
    for source, name, points, how in ops:
        steps = [p[0] for p in points]
        values = [p[1] for p in points]
        restates = how == "restates"
        store.add(source, {name: chunk(steps, values)}, restarted=how != "append", restates=restates)
        ref.add(source, name, steps, values, how)
    for name, expected in ref.series.items():
        got = as_dict(store, name)
        assert sorted(got) == sorted(expected)
        for k, v in expected.items():
            assert got[k] == v or (math.isnan(got[k]) and math.isnan(v))
        s = store.get(name)
        if s is not None:
            assert s.nonfinite == int(np.count_nonzero(~np.isfinite(s.values)))
            assert bool(np.all(np.diff(s.steps) > 0))


def test_series_is_usable_on_its_own() -> None:
    s = Series("x")
    s.merge(np.array([3, 1, 2], dtype=np.int64), np.zeros(3), np.array([3.0, 1.0, 2.0]))
    assert s.steps.tolist() == [1, 2, 3]
    assert s.values.tolist() == [1.0, 2.0, 3.0]
    assert s.first_step == 1
    assert s.last_step == 3
    assert s.count_upto(2) == 2


def _chunk(steps: list[int], value: float) -> PointChunk:
    n = len(steps)
    return PointChunk(np.array(steps, np.int64), np.full(n, 1.7e9), np.full(n, value))


def test_points_by_source_says_which_source_won_each_shared_step() -> None:
    """TensorBoard gives steps 1-10, a tracker 6-15 afterwards: the tracker's values hold 6-15
    (newest wins), TensorBoard's 1-5; a third series only TensorBoard fed counts for it whole."""
    store = MetricStore(track_sources=True)
    store.add("tfevents", {"loss": _chunk(list(range(1, 11)), 1.0), "lr": _chunk([1, 2, 3], 0.1)})
    store.add("wandb", {"loss": _chunk(list(range(6, 16)), 2.0)})
    assert store.points_by_source() == {"tfevents": 5 + 3, "wandb": 10}
    loss = store["loss"]
    assert loss.values[loss.steps.tolist().index(7)] == 2.0
    # A later TensorBoard point at a shared step takes it back (newest wins, counted the same way).
    store.add("tfevents", {"loss": _chunk([15], 3.0)})
    assert store.points_by_source() == {"tfevents": 9, "wandb": 9}


def test_points_by_source_after_a_rewind_counts_only_what_is_stored() -> None:
    store = MetricStore(track_sources=True)
    store.add("tfevents", {"loss": _chunk(list(range(1, 11)), 1.0)})
    store.add("wandb", {"loss": _chunk(list(range(1, 11)), 2.0)})
    store.add("wandb", {"loss": _chunk([4, 5], 3.0)}, restarted=True)  # the tracker started over
    # The restart cut the series from step 4 (its 6-10 and TensorBoard's beneath them); 1-3 hold
    # the tracker's values from before, 4-5 its new ones; the stale map entries are not counted.
    assert store["loss"].steps.tolist() == [1, 2, 3, 4, 5]
    assert store["loss"].values.tolist() == [2.0, 2.0, 2.0, 3.0, 3.0]
    assert store.points_by_source() == {"wandb": 5}


def test_points_by_source_costs_nothing_unless_asked() -> None:
    store = MetricStore()
    store.add("tfevents", {"loss": _chunk([1, 2], 1.0)})
    store.add("wandb", {"loss": _chunk([1, 2], 2.0)})
    assert store.points_by_source() == {}
    assert store._owners == {}
