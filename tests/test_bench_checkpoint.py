"""The checkpoint benchmark section runs end to end: its sizes, and times that are times, not their values."""

import math

from bench import checkpoint


def test_each_run_has_its_size_its_costs_and_the_lecture_run_a_verdict():
    (section,) = checkpoint.run(quick=True)
    assert [row[0] for row in section.rows] == list(checkpoint.RUNS)
    lecture, mnist = ({name: cell for name, cell in zip(section.header, row, strict=True)} for row in section.rows)
    # The lecture run: its float64 start (0.64 MB), float32 weights and gradients (0.64 MB), its records and its
    # weight path (0.32 MB a float32 snapshot): 11 snapshots by the count, 2 at least where a busy machine's clock
    # thins them.
    assert 2.18 <= float(lecture["size MB"]) <= 5.04
    assert 2.5 < float(mnist["size MB"]) < 5, "Adam's two moments besides; a short run: 6 snapshots of its path"
    for row in (lecture, mnist):
        for column in ("dump ms", "save ms", "resume ms", "training ms/epoch"):
            value = float(row[column].split()[0])
            assert math.isfinite(value) and value > 0, f"{row['run']}: {column} = {value}"
        assert row["share"].endswith("%")
    assert lecture["result"] in {"PASS", "MISS"} and mnist["result"] == ""
