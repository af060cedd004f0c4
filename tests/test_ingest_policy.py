"""The ingest policy's pure decisions (rltui.session.ingest_policy), one branch at a time.

Each case is a situation a real run gets into (README: console vs event file, a late
``logging_steps``, a JSONL without steps beside trainer_state.json); the session tests check the
same rules end to end on fixtures.
"""

from __future__ import annotations

import math

import pytest

from rltui.session import ingest_policy as p
from rltui.session.ingest_policy import Src


def test_rank_puts_consoles_first_and_trackers_after_event_files() -> None:
    kinds = sorted(p.RANK, key=p.RANK.__getitem__)
    assert kinds[:2] == ["console", "tmux"]
    assert kinds.index("jsonl") < kinds.index("trainer_state") < kinds.index("tfevents")
    assert all(kinds.index(t) > kinds.index("tfevents") for t in p.TRACKERS)


def test_source_id_event_files_and_wandb_are_one_stream() -> None:
    assert p.source_id("tfevents", "/r/a") == p.source_id("tfevents", "/r/b") == "tfevents"
    assert p.source_id("wandb", "/r/x.wandb") == "wandb"
    assert p.source_id("console", "/r/a.log") != p.source_id("console", "/r/b.log")
    assert p.source_id("mlflow", "/m", "run1") == "mlflow:/m#run1"
    assert p.source_id("mlflow", "/m", "run1") != p.source_id("mlflow", "/m", "run2")


def test_plan_reads_everything_when_no_event_file_exists() -> None:
    ranked = [Src("console"), Src("jsonl"), Src("trainer_state")]
    assert p.plan_poll(ranked) == p.PollPlan((0, 1, 2), undecided=False)


def test_plan_skips_consoles_once_an_event_file_gave_points() -> None:
    ranked = [Src("console", points=10), Src("tmux"), Src("trainer_state"), Src("tfevents", points=5)]
    assert p.plan_poll(ranked) == p.PollPlan((2, 3), undecided=False)


def test_plan_skips_consoles_beside_a_tracker_with_points() -> None:
    ranked = [Src("console"), Src("wandb", points=1)]
    assert p.plan_poll(ranked).read == (1,)


def test_plan_is_undecided_while_event_files_have_given_nothing() -> None:
    ranked = [Src("console"), Src("tfevents")]
    assert p.plan_poll(ranked) == p.PollPlan((0, 1), undecided=True)


def test_plan_is_decided_without_consoles_or_without_precise_sources() -> None:
    assert not p.plan_poll([Src("trainer_state"), Src("tfevents")]).undecided
    assert not p.plan_poll([Src("console"), Src("jsonl")]).undecided


def test_plan_leaves_out_excluded_sources_and_an_excluded_console_decides_nothing() -> None:
    ranked = [Src("console", excluded=True), Src("jsonl"), Src("tfevents")]
    assert p.plan_poll(ranked) == p.PollPlan((1, 2), undecided=False)


def test_undecided_poll_reads_consoles_only_if_the_event_files_gave_nothing() -> None:
    assert p.consoles_after_precise_read([0, 0])
    assert p.consoles_after_precise_read([])  # every event file unreadable (None reads)
    assert not p.consoles_after_precise_read([0, 3])


def test_precise_have_points_counts_held_reads() -> None:
    srcs = [Src("console", points=4), Src("tfevents")]
    assert not p.precise_have_points(srcs)
    assert p.precise_have_points(srcs, [2])
    assert not p.precise_have_points([Src("trainer_state", points=9)])


def test_listed_hides_only_a_silent_console_beside_event_points() -> None:
    assert not p.listed(Src("console"), precise_points=True)
    assert p.listed(Src("console"), precise_points=False)
    assert p.listed(Src("console", has_problems=True), precise_points=True)
    assert p.listed(Src("tmux", points=2), precise_points=True)
    assert p.listed(Src("jsonl"), precise_points=True)


def test_only_trainer_state_restates_on_restart() -> None:
    assert p.restates("trainer_state", True)
    assert not p.restates("trainer_state", False)
    assert not p.restates("tfevents", True)
    assert not p.restates("console", True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        (5.0, 5),
        (0, None),
        (-3, None),
        (True, None),
        (2.5, None),
        (math.nan, None),
        (math.inf, None),
        ("10", None),
        (None, None),
    ],
)
def test_positive_int(value: object, expected: int | None) -> None:
    assert p.positive_int(value) == expected


def test_logging_steps_from_config_int_and_fraction() -> None:
    assert p.logging_steps_from_config({"logging_steps": 10}, None) == 10
    assert p.logging_steps_from_config({"logging_steps": 0.01}, 1000) == 10
    assert p.logging_steps_from_config({"logging_steps": 0.001}, 150) == 1  # ceil, never 0
    assert p.logging_steps_from_config({"logging_steps": 0.1}, None) is None  # fraction of unknown
    assert p.logging_steps_from_config({}, 1000) is None
    assert p.logging_steps_from_config({"logging_steps": False}, 1000) is None


def test_max_steps_trainer_state_wins_and_a_counter_only_fills_the_gap() -> None:
    assert p.max_steps_after("console", 500, None, False) == (500, False)
    assert p.max_steps_after("trainer_state", 300, 500, False) == (300, True)
    assert p.max_steps_after("console", 999, 300, True) == (300, True)  # no override of the state
    assert p.max_steps_after("trainer_state", 400, 300, True) == (400, True)
    assert p.max_steps_after("console", 0, 300, False) == (300, False)
    assert p.max_steps_after("console", None, None, False) == (None, False)


def test_rescale_nothing_known_nothing_to_do() -> None:
    assert p.console_rescale(None, [(None, 10)]) == p.Rescale(False, ())


def test_rescale_rereads_when_points_were_stored_with_a_guessed_scale() -> None:
    assert p.console_rescale(10, [(None, 10)]) == p.Rescale(True, ())


def test_rescale_retunes_a_console_that_stored_nothing_yet() -> None:
    assert p.console_rescale(10, [(None, 0), (10, 7), (5, 0)]) == p.Rescale(False, (0, 2))


def test_rescale_same_scale_is_no_reread_and_a_guess_of_one_matches_one() -> None:
    assert p.console_rescale(10, [(10, 50)]) == p.Rescale(False, ())
    assert p.console_rescale(1, [(None, 50)]) == p.Rescale(False, ())


def test_guessed_steps_excluded_only_beside_a_true_step_source() -> None:
    srcs = [Src("jsonl", points=5, steps_guessed=True), Src("trainer_state", points=3)]
    assert p.guessed_to_exclude(srcs) == ((0,), 1)
    assert p.guessed_to_exclude([Src("jsonl", points=5, steps_guessed=True)]) == ((), None)
    # a true-step source without points does not count; an excluded one neither
    srcs = [Src("jsonl", points=5, steps_guessed=True), Src("trainer_state")]
    assert p.guessed_to_exclude(srcs) == ((), None)
    srcs = [Src("console", points=5, steps_guessed=True, excluded=True), Src("trainer_state", points=2)]
    assert p.guessed_to_exclude(srcs) == ((), None)


def test_framework_announced_only_known_announcements() -> None:
    assert p.framework_announced("unsloth", None) == "unsloth"
    assert p.framework_announced("mlx", "unsloth") == "mlx"
    assert p.framework_announced("bogus\x1b[2J", "unsloth") == "unsloth"
    assert p.framework_announced(None, None) is None
