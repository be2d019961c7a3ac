"""Five sessions press Train at once on one server: all finish, no page shows an error, each history is its own."""

from bench import load

SESSIONS = 5


def test_five_sessions_at_once_finish_with_the_cores_histories(app_server, browser):
    health = load.Sampler(load.health_probe(app_server), load.HEALTH_EVERY_S)
    health.start()
    try:
        results = load.run_sessions(browser, app_server, load.session_settings(SESSIONS), check=SESSIONS, timeout_s=180)
    finally:
        latencies = health.stop()

    problems = [f"{r.settings.query()}: {error}" for r in results for error in r.errors]
    assert problems == [], "\n".join(problems)
    assert [r.status.split(" ·")[0] for r in results] == ["Done"] * SESSIONS
    for settings, equal, note in load.compare_histories(results):
        assert equal, f"{settings.query()}: {note}"
    p95 = load.percentile([load.HEALTH_TIMEOUT_S if s is None else s for s in latencies], 95)
    assert p95 < load.HEALTH_TARGET_S, f"/_stcore/health took {p95:.2f} s at the 95th percentile"
