"""The benchmark of why a setting works runs end to end: a row per run, shares and seconds that are numbers."""

import math

from bench import why


def test_each_table_has_its_rows_and_numbers():
    sharpness, plane, rates = why.run(quick=True)
    assert [row[0] for row in sharpness.rows] == list(why.SHARPNESS_RUNS)
    counts = {name: row[1] for name, row in zip(why.SHARPNESS_RUNS, sharpness.rows, strict=True)}
    # Every K epochs: 100 lecture epochs at K=50 and 4 digits epochs at K=2 measure at epochs 0 and K.
    assert counts["lecture, K=50"] == counts["mnist5k, K=10"] == "2-2", counts
    # By default the trainer spaces them by their cost, which varies with the machine, but always measures epoch 0.
    for name, count in counts.items():
        low, high = (int(n) for n in count.split("-"))
        assert 1 <= low <= high <= why.SHARPNESS_RUNS[name][1].epochs, (name, count)
    for row in sharpness.rows:
        assert 0 < float(row[2].split("%")[0]) < 1000 and math.isfinite(float(row[3].split("%")[0]))
        assert row[4] in ({"for the record"} if "K=" in row[0] else {"PASS", "MISS"})
    (landscape,) = plane.rows
    assert landscape[0].startswith("line, directions and 21 x 21 plane (3 snapshots, 64 probe rows)")
    assert float(landscape[1].split()[0]) > 0 and landscape[3] in {"PASS", "MISS"}
    assert [row[0] for row in rates.rows] == list(why.RATE_RUNS)
    for row in rates.rows:
        assert 10 <= int(row[1]) <= 300 and float(row[2]) > 0 and float(row[3].split()[0]) > 0
