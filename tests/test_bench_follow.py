"""The following benchmark's verdicts: each follower's delay per frame, the lecturer's frame rate, a class served."""

from __future__ import annotations

import pytest

from bench import follow
from harness.student import Seen


def running(epoch: int) -> str:
    return f"**Running** · epoch **{epoch}** of 100000 · loss **1.2** (sum over 64 rows)"


def test_a_followers_delay_counts_its_first_line_of_each_frame_heard():
    heard = {10: 100.0, 20: 100.2, 30: 100.4}
    one = Seen(statuses=[
        (99.0, "Ready", "**Ready**: press Train to start, or Step for one epoch."),
        (100.05, "Running", running(10)),
        (100.5, "Running", running(10)),  # drawn again: only the first counts
        (100.6, "Running", running(30)),  # 20 skipped: the follower was drawing when it came
        (100.7, "Running", running(40)),  # not heard while measured
    ])  # fmt: skip
    other = Seen(statuses=[(100.3, "Running", running(20))])
    delays, shown = follow.follower_delays(heard, [one, other])
    assert delays == pytest.approx([0.05, 0.2, 0.1])
    assert shown == pytest.approx(3 / 6)
    assert follow.follower_delays(heard, []) == ([], 0.0)


def a_class(followers: int, delays: list[float], every_s: float) -> follow.ClassFollowed:
    """A class whose lecturer sent a frame every `every_s` for 10 s."""
    heard = {epoch: epoch * every_s for epoch in range(int(10 / every_s) + 1)}
    return follow.ClassFollowed(followers, heard, 10.5, delays, 0.9, 150, 4.2)


def test_the_lecturers_rate_runs_from_its_first_frame_to_its_last():
    assert a_class(10, [0.1], 0.2).fps == pytest.approx(5.0)
    assert follow.ClassFollowed(1, {5: 3.0}, 10.0, [0.1], 1.0, 0, 1.0).fps == 0.0


def test_a_class_is_served_when_its_p95_delay_and_the_lecturers_rate_meet_the_targets():
    assert a_class(20, [0.1] * 19 + [0.9], 0.19).met
    assert not a_class(20, [0.1] * 18 + [1.5, 1.5], 0.19).met  # the 95th percentile waited 1.5 s
    assert not a_class(20, [0.1] * 20, 0.25).met  # the lecturer slowed to 4 frames a second
    assert not a_class(20, [], 0.19).met  # no follower showed a frame
    assert a_class(0, [], 0.19).met  # the lecturer alone: only its rate counts


def test_a_row_gives_the_figures_of_the_class():
    assert follow.row(a_class(20, [0.1] * 19 + [0.9], 0.2)) == ["20", "5.00", "100 / 100", "90%", "14.3", "0.40", "yes"]
    assert follow.row(a_class(0, [], 0.25))[1:4] == ["4.00", "–", "–"]  # the lecturer alone


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--sizes", "-1"], "--sizes must be 0"), (["--seconds", "0"], "--seconds must be positive")],
)
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        follow.main(argv)
    assert message in capsys.readouterr().err
