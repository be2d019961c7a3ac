"""Five sessions press Train at once on one server: all finish, no page shows an error, each history is its own."""

from harness.server import HEALTH_EVERY_S, HEALTH_TARGET_S, HEALTH_TIMEOUT_S, Sampler, health_probe, percentile
from harness.sessions import compare_histories, run_sessions, session_settings

SESSIONS = 5


def test_five_sessions_at_once_finish_with_the_cores_histories(app_server, browser):
    health = Sampler(health_probe(app_server), HEALTH_EVERY_S)
    health.start()
    try:
        results = run_sessions(browser, app_server, session_settings(SESSIONS), check=SESSIONS, timeout_s=180)
    finally:
        latencies = health.stop()

    problems = [f"{r.settings.query()}: {error}" for r in results for error in r.errors]
    assert problems == [], "\n".join(problems)
    assert [r.status.split(" ·")[0] for r in results] == ["Done"] * SESSIONS
    for settings, equal, note in compare_histories(results):
        assert equal, f"{settings.query()}: {note}"
    p95 = percentile([HEALTH_TIMEOUT_S if s is None else s for s in latencies], 95)
    assert p95 < HEALTH_TARGET_S, f"/_stcore/health took {p95:.2f} s at the 95th percentile"
