"""The hall benchmark's readings: HAProxy's log of page WebSockets, the app's session counters, what counts as lost."""

from __future__ import annotations

import pytest

from bench import hall

# Three page WebSockets as HAProxy logs them when they end (deploy/haproxy.cfg: option httplog): two closed by the
# server after 90 s and 60 s, one by the browser after 98.5 s; an ordinary request between them.
PROXY_LOG = """\
<6>127.0.0.1:49496 [07/Dec/2026:15:22:33.271] class twolayer/app2 0/0/0/3/90274 101 1350666 - - --VN 6/6/5/2/0 0/0 \
"GET /_stcore/stream HTTP/1.1"
<6>127.0.0.1:49500 [07/Dec/2026:15:22:33.300] class twolayer/app2 0/0/0/1/1 200 120 - - --VN 6/6/5/2/0 0/0 \
"GET /_stcore/health HTTP/1.1"
<6>127.0.0.1:51826 [07/Dec/2026:15:24:49.642] class twolayer/app1 0/0/0/1/60017 101 1929430 - - --VN 6/6/5/2/0 0/0 \
"GET /_stcore/stream HTTP/1.1"
<6>127.0.0.1:55300 [07/Dec/2026:15:26:39.042] class twolayer/app1 0/0/0/2/98534 101 2672982 - - CDVN 8/8/5/2/0 0/0 \
"GET /_stcore/stream HTTP/1.1"
"""
METRICS = """\
# TYPE session_events counter
session_events_total{type="connect"} 7
session_events_total{type="reconnect"} 3
session_events_total{type="disconnect"} 9
# EOF
"""


def test_the_proxy_log_gives_each_page_websocket_its_end_and_duration():
    states, seconds = hall.proxy_streams(PROXY_LOG)
    assert states == {"--": 2, "CD": 1}
    assert seconds == [90.274, 60.017, 98.534]


def test_the_session_counters_are_read_from_the_metrics_text():
    assert hall.session_events(METRICS) == {"connect": 7, "reconnect": 3, "disconnect": 9}


def test_a_session_is_lost_when_a_page_starts_a_second_one():
    room = hall.Hall(minutes=1, students=6, burners=2, connects=7, reconnects=3)
    room.pages = [{"closes": [[0, 1006, ""]] * 2, "lost": [], "resumed": ["Resumed at epoch 5"], "runs": 1}] * 2
    assert (room.sessions_lost, room.closes, room.resumed, room.runs_lost) == (1, 4, 2, 0)
    assert hall.Hall(minutes=1, students=6, burners=2, connects=6).sessions_lost == 0


def test_the_students_train_every_stage_long_runs_of_digits():
    settings = hall.students(6)
    assert [s.stage for s in settings] == ["tensor", "autograd", "nn", "optim", "tensor", "autograd"]
    assert {(s.epochs, s.data, s.batch) for s in settings} == {(3000, "digits", 512)}
    assert len({s.seed for s in settings}) == 6


def test_the_page_ping_is_the_config_files():
    assert hall.ping_setting() == 120


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--minutes", "0"], "--minutes must be positive"), (["--students", "0"], "--students at least 1")],
)
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        hall.main(argv)
    assert message in capsys.readouterr().err
