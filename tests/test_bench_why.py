"""The benchmark of why a setting works runs end to end: a row per run, shares and seconds that are numbers."""

import math

from bench import why


def test_each_table_has_its_rows_and_numbers():
    sharpness, plane, rates = why.run(quick=True)
    assert [row[0] for row in sharpness.rows] == list(why.SHARPNESS_RUNS)
    assert [row[1] for row in sharpness.rows] == ["2", "1", "2", "2"], "measurements at epochs 0, K, 2K, ..."
    for row in sharpness.rows:
        assert math.isfinite(float(row[2].split("%")[0])) and row[3] in {"PASS", "MISS"}
    (landscape,) = plane.rows
    assert landscape[0].startswith("line, directions and 21 x 21 plane (3 snapshots, 64 probe rows)")
    assert float(landscape[1].split()[0]) > 0 and landscape[3] in {"PASS", "MISS"}
    assert [row[0] for row in rates.rows] == list(why.RATE_RUNS)
    for row in rates.rows:
        assert 10 <= int(row[1]) <= 300 and float(row[2]) > 0 and float(row[3].split()[0]) > 0
