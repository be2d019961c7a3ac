"""Charts told in words: each sentence carries the numbers of the run it describes, and tables hold the chart's data."""

from __future__ import annotations

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.teach import describe, describe_labels, describe_net
from twolayer.train.state import RunState


def test_numbers_read_with_four_significant_digits_and_thousands_separated():
    assert [describe.number(v) for v in (662.8123, 0.00021, 12_345.6, 25_309_284.0, -3.0, 1.5e-7)] == [
        "662.8",
        "0.00021",
        "12,350",
        "25,310,000",
        "-3",
        "1.5e-07",
    ]
    assert describe.number(float("inf")) == "inf" and describe.percent(0.9534) == "95.3%"


def test_a_falling_curve_says_from_where_to_where_and_where_it_fell_fastest():
    epochs = np.arange(500)
    losses = 662.8 * np.exp(-np.minimum(epochs, 50) / 3.0) + 2e-4  # all the fall in the first 50 epochs
    words = describe.trend_words(epochs, losses, "the loss")
    assert words.startswith(f"the loss fell from 662.8 at epoch 0 to {describe.number(losses[-1])} at epoch 499")
    assert "fastest between epochs 0 and 50" in words, words


def test_a_curve_names_its_low_point_when_it_ends_above_it_and_its_fastest_rise():
    epochs = np.arange(0, 110, 10)
    values = np.array([9.0, 8, 7, 6, 5, 1, 2, 3, 4, 5, 6])  # falls, then climbs back
    words = describe.trend_words(epochs, values, "it")
    assert (
        words
        == "it fell from 9 at epoch 0 to 6 at epoch 100, fastest between epochs 40 and 50; its lowest was 1 at epoch 50"
    )
    rising = describe.trend_words([0, 1, 2, 3], [1.0, 1.5, 8.0, 9.0], "it")
    assert rising == "it rose from 1 at epoch 0 to 9 at epoch 3, fastest between epochs 1 and 2"
    assert describe.trend_words([4], [2.5], "it") == "it is 2.5 at epoch 4"
    assert describe.trend_words([0, 1], [np.nan, np.inf], "it") == "it has no finite value yet"


def test_the_loss_words_of_a_real_run_carry_its_history():
    trainer = Trainer(TrainConfig(data="digits", stage="optim", epochs=12, hidden_size=16, learning_rate=1e-3))
    trainer.advance(12)
    epochs, losses = trainer.loss_curve()
    scale = 1 / len(trainer.data.x_train)
    evals = trainer.evaluations()
    test = (evals["epoch"], evals["test_loss_per_example"])
    words = describe.loss_words(epochs, losses * scale, "per example", test, trainer.eval_every)
    first, last = describe.number(losses[0] * scale), describe.number(losses[-1] * scale)
    assert f"fell from {first} at epoch 0 to {last} at epoch 11" in words, words
    tested = f"The test loss, measured every {trainer.eval_every} epochs, is {describe.number(test[1][-1])} at epoch "
    assert tested + f"{int(test[0][-1])}" in words, words
    table = describe.curves_table({"training loss": (epochs, losses), "test loss": test})
    assert table["epoch"] == list(range(12)) and table["training loss"] == losses.tolist()
    assert [v for v in table["test loss"] if v is not None] == pytest.approx(test[1].tolist())


def test_progress_is_one_short_line():
    assert describe.progress_words(RunState.RUNNING, 120, 500, 3.4071) == "Epoch 120 of 500: loss 3.407"
    assert describe.progress_words(RunState.DONE, 20_000, 20_000, 2e-4) == "Done, epoch 20,000 of 20,000: loss 0.0002"


def test_several_curves_name_the_lowest_and_the_gaps_their_largest():
    curves = {"lr=0.1": ([0, 1, 2], [3.0, 2.0, 1.5]), "lr=0.01": ([0, 1, 2], [3.0, 2.9, 2.8])}
    words = describe.curves_words(curves)
    assert "lr=0.1: 3 to 1.5 at epoch 2; lr=0.01: 3 to 2.8 at epoch 2" in words
    assert "Lowest at the end: lr=0.1 (1.5); highest: lr=0.01 (2.8)" in words
    gaps = {"tensor": ([0, 1, 2], [1e-18, 3e-16, 2e-16]), "nn": ([0, 1, 2], [1e-18, 1e-18, 4e-9])}
    said = describe.gap_words(gaps, same=1e-12)
    assert "tensor at most 3e-16 (epoch 1); nn at most 4e-09 (epoch 2)" in said and "nn differs most, by 4e-09" in said
    assert "every gap is below 1e-12" in describe.gap_words({"tensor": gaps["tensor"]}, same=1e-12)


def test_a_long_table_keeps_every_kth_row_and_the_last():
    rows = describe.rows_shown(20_000, limit=500)
    assert rows[0] == 0 and rows[-1] == 19_999 and len(rows) == 501
    assert set(np.diff(rows[:-1])) == {40}, "evenly spaced, every 40th epoch"
    assert describe.rows_shown(30).tolist() == list(range(30))


def test_histograms_say_where_the_middle_of_the_values_lies_and_how_it_moved():
    edges = np.linspace(-1, 1, 11)  # bins of 0.2
    counts = np.array([0, 0, 0, 10, 80, 80, 10, 0, 0, 0])
    words = describe_net.histogram_words(edges, counts, outside=3)
    # 5% of 180 = 9 values: 0.9 of the way into the bin [-0.4, -0.2]; the mirror image above.
    assert words.startswith("180 values between -1 and 1; the middle 90% lie between -0.22 and 0.22")
    assert "the tallest bin around -0.1 holds 44.4%" in words and "3 values lie outside" in words
    wide = np.array([5, 10, 15, 20, 40, 40, 20, 15, 10, 5])
    history = describe_net.histogram_history_words(edges, [(0, counts), (40, wide)])
    assert "between -0.22 and 0.22 at epoch 0" in history and "widened" in history
    table = describe_net.histogram_table(edges, [(0, counts), (40, wide)])
    assert table["epoch 40"] == wide.tolist() and table["from"][0] == -1 and table["to"][-1] == 1


def test_update_ratios_name_a_layer_whose_steps_are_too_large():
    ratios = {"W1": [1e-3, 2e-3, 5e-2], "W2": [1e-3, 1e-3, 9e-4]}
    words = describe_net.ratio_words([0, 10, 20], ratios)
    assert "W1 0.05 at epoch 20 (from 0.001); W2 0.0009 at epoch 20" in words
    assert "Too large, above 0.01: W1;" in words
    healthy = describe_net.ratio_words([0], {"W1": [1e-3]})
    assert "within a factor of ten of the healthy 0.001" in healthy
    norms = describe_net.norms_words([0, 10], {"W1": [4.0, 1.0], "W2": [2.0, 3.0]})
    assert "W1's gradient norm fell from 4 at epoch 0 to 1 at epoch 10" in norms and "Largest now: W2's, 3." in norms


def test_dead_hidden_units_are_named():
    rates = np.array([[0.5, 0.4], [0.3, 0.0], [0.8, 0.9], [0.1, 0.0]])  # units 1 and 3 stop firing
    words = describe_net.firing_words([0, 50], rates)
    assert (
        "At epoch 50 they fire on 32.5% of the rows on average (from 0.0% to 90.0%), against 42.5% at epoch 0" in words
    )
    assert "2 fire on no sampled row (dead): units 1, 3" in words
    table = describe_net.firing_table([0, 50], rates)
    assert table["fires at epoch 50"] == [0.4, 0.0, 0.9, 0.0]
    mask = np.array([[True, False, True], [False, False, True]])
    assert describe_net.mask_words(mask) == (
        "50.0% pass, of 6 entries. 1 hidden units pass on no example of this step (units 1): no gradient reaches them."
    )


def test_the_confusion_words_name_the_pair_confused_most_and_the_worst_class():
    labels = [0] * 10 + [1] * 10 + [2] * 10
    predicted = [0] * 10 + [1] * 6 + [2] * 4 + [2] * 9 + [1]
    words = describe_labels.confusion_words(labels, predicted, 3, "test")
    assert words.startswith("25 of 30 test examples classified right (83.3%).")
    assert "Confused most: 1 taken for 2 4 times; 2 taken for 1 1 times." in words
    assert words.endswith("Class 1 is right least often: 60.0% of its 10 examples.")
    table = describe_labels.confusion_table(labels, predicted, 3)
    assert table["predicted 2"] == [0, 4, 9]


def test_accuracy_and_predictions_say_the_latest_the_best_and_the_mistakes():
    words = describe_labels.accuracy_words([0, 5, 10], [0.5, 0.9, 0.95], [0.4, 0.93, 0.91])
    assert words == (
        "Test accuracy 91.0% at epoch 10, from 40.0% at epoch 0 (best 93.0% at epoch 5); "
        "training accuracy 95.0% at epoch 10, from 50.0% at epoch 0."
    )
    said = describe_labels.predictions_words([3, 1, 8, 2], [3, 7, 1, 2], count=3, split="test")
    assert said == (
        "3 test images, the wrongly predicted first: 2 of them wrong (a 1 read as 7, an 8 read as 1); "
        "2 of all 4 test images are predicted wrong."
    )
    scores = describe_labels.scores_words(np.array([0.1, 0.82, 0.3]))
    assert scores == "Highest: 1, at 0.82; next best 2 at 0.3, 0.52 lower. Every score: 0: 0.1, 1: 0.82, 2: 0.3."


def test_step_values_name_their_largest_entry_and_change():
    before = np.array([[1.0, 2.0], [3.0, 4.0]])
    after = before + np.array([[0.0, -0.5], [0.1, 0.0]])
    words = describe_net.update_words("w1", before, after)
    assert "changed by -0.5 to 0.1 in this step" in words
    assert "the largest change, -0.5, at entry (0, 1), from 2 to 1.5" in words
    assert describe_net.array_words("h", np.array([0.0, -2.0, 1.0])).startswith(
        "h: 3 entries from -2 to 1, mean -0.3333; the largest in size, -2, at entry (1); 33.3% are zero."
    )
    table = describe_net.array_table(np.arange(6.0).reshape(2, 3))
    assert table == {"index 1": [0, 0, 0, 1, 1, 1], "index 2": [0, 1, 2, 0, 1, 2], "value": [0, 1, 2, 3, 4, 5]}


def test_the_class_board_names_its_best_run():
    points = [("numpy", 1e-3, 0.9, False), ("nn", 1e-2, 0.95, False), ("nn", 1.0, 0.1, True)]
    words = describe.board_words(points, "learning rate", "test accuracy", higher_is_better=True)
    assert words == (
        "3 runs; test accuracy from 0.1 to 0.95. The best, 0.95, is a run of the nn stage with learning rate 0.01. "
        "Runs by stage: numpy 1, nn 2; 1 diverged."
    )
