"""The replay cursor's rules, without Pilot: it is a pure value (rltui/ui/replay_cursor.py)."""

from __future__ import annotations

from rltui.ui.replay_cursor import MIN_TICK_S, ReplayCursor

STEPS = (10, 20, 30, 40, 50)


def test_a_loaded_cursor_starts_paused_at_the_first_step() -> None:
    c = ReplayCursor.over([30, 10, 20, 10], [20])
    assert (c.steps, c.step, c.playing, c.loaded) == ((10, 20, 30), 10, False, True)
    assert c.label() == "REPLAY paused 10 steps/s"
    assert ReplayCursor().label() == "REPLAY loading"


def test_play_at_the_end_starts_again_and_ticks_stop_at_the_end() -> None:
    c = ReplayCursor.over(STEPS, ()).end()
    assert c.label().startswith("REPLAY end")
    played = c.toggled()
    assert (played.step, played.playing) == (10, True)
    fast = ReplayCursor.over(STEPS, (), speed=20.0).set_playing(True)
    assert fast.tick_s == MIN_TICK_S
    assert fast.per_tick == 2
    fast = fast.ticked().ticked()
    assert (fast.step, fast.playing) == (50, False)


def test_steps_seek_and_speeds_clamp() -> None:
    c = ReplayCursor.over(STEPS, ()).set_playing(True)
    assert (c.stepped(-1).step, c.stepped(-1).playing) == (10, False)
    assert c.seek(25).step == 30
    assert c.seek(999).step == 50
    assert ReplayCursor.over(STEPS, (), speed=1000.0).sped(1).speed == 1000.0
    assert ReplayCursor.over(STEPS, (), speed=10.0).sped(-1).speed == 5.0


def test_next_and_previous_alert() -> None:
    c = ReplayCursor.over(STEPS, (20, 45))
    nxt = c.next_alert()
    assert nxt is not None
    assert nxt.step == 20
    after = nxt.next_alert()
    assert after is not None
    assert after.step == 50
    assert after.next_alert() is None
    back = after.previous_alert()
    assert back is not None
    assert back.step == 20
    assert c.previous_alert() is None
