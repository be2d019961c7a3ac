"""The training loop's frame pacing, on a fake clock."""

from page.pacing import FRAME_SECONDS, HEAVY_SECONDS, MIN_SLICE_SECONDS, SLICE_SECONDS, Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_slices_end_when_the_next_frame_is_due():
    clock = Clock()
    pacer = Pacer(("a",), clock)
    assert pacer.slice_seconds() == SLICE_SECONDS
    clock.now += FRAME_SECONDS - 0.05
    assert abs(pacer.slice_seconds() - 0.05) < 1e-9
    clock.now += 1.0
    assert pacer.slice_seconds() == MIN_SLICE_SECONDS, "a late frame still leaves a minimum slice"


def test_frames_keep_their_pace_and_slow_panels_come_one_per_frame():
    clock = Clock()
    pacer = Pacer(("w1", "w2", "norms"), clock)
    drawn = []
    for _ in range(240):  # 12 s in steps of 50 ms
        clock.now += 0.05
        panels = pacer.due(finished=False)
        if panels is not None:
            drawn.append((clock.now, panels))
    # Frames come at the first 50 ms tick at or after each is due, on a fixed schedule: the late ticks do not add up.
    assert 12 / FRAME_SECONDS - 1 <= len(drawn) <= 12 / FRAME_SECONDS
    assert all(len(panels) <= 1 for _, panels in drawn)
    slow = [panel for _, panels in drawn for panel in panels]
    assert slow[:9] == ["w1", "w2", "norms"] * 3 and len(slow) <= 12, "each slow panel once per round, in order"


def test_a_finished_run_draws_at_once_and_only_the_loss():
    clock = Clock()
    pacer = Pacer(("w1",), clock)
    clock.now += HEAVY_SECONDS
    assert pacer.due(finished=True) == ()
    assert pacer.frame == 1


def test_a_run_just_started_draws_its_loss_after_one_short_slice_then_its_slow_panels():
    clock = Clock()
    pacer = Pacer(("w1", "w2"), clock, starting=True)
    assert pacer.slice_seconds() == MIN_SLICE_SECONDS, "the first frame is due at once"
    clock.now += MIN_SLICE_SECONDS
    assert pacer.due(finished=False) == (), "the first frame is the loss chart alone"
    assert pacer.slice_seconds() == SLICE_SECONDS
    clock.now += FRAME_SECONDS
    assert pacer.due(finished=False) == ("w1",)
    clock.now += FRAME_SECONDS
    assert pacer.due(finished=False) == ("w2",)
    clock.now += FRAME_SECONDS
    assert pacer.due(finished=False) == ()


def test_a_frame_a_whole_period_late_starts_the_schedule_anew_instead_of_a_burst():
    clock = Clock()
    pacer = Pacer((), clock)
    clock.now += 1.0  # the run waited for a free training slot
    assert pacer.due(finished=False) == ()
    clock.now += 0.01
    assert pacer.due(finished=False) is None, "no frames to catch up with"
    clock.now += FRAME_SECONDS
    assert pacer.due(finished=False) == ()
