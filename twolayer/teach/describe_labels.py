"""Charts of classes told in words: accuracy, the confusion matrix, test images and a drawing's scores.

As in twolayer.teach.describe: the run's numbers in, a sentence (or a table's columns) out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from twolayer.teach.describe import finite_points, number, percent

MAX_PAIRS = 3  # the most confused (true, predicted) pairs a sentence names


def accuracy_words(epochs: Sequence[float], train: Sequence[float], test: Sequence[float] | None = None) -> str:
    """Accuracy over the evaluated epochs: the test's (else the training's) from first to latest, and its best."""
    words = []
    for split, values in (("test", test), ("training", train)):
        if values is None:
            continue
        kept_epochs, kept = finite_points(epochs, values)
        if not len(kept):
            continue
        best = int(np.argmax(kept))
        line = (
            f"{split} accuracy {percent(kept[-1])} at epoch {int(kept_epochs[-1]):,}, from {percent(kept[0])} at "
            f"epoch {int(kept_epochs[0]):,}"
        )
        if best != len(kept) - 1 and kept[best] > kept[-1]:
            line += f" (best {percent(kept[best])} at epoch {int(kept_epochs[best]):,})"
        words.append(line)
    if not words:
        return "No evaluation yet."
    line = "; ".join(words) + "."
    return line[0].upper() + line[1:]


def accuracy_table(epochs: Sequence[float], train: Sequence[float], test: Sequence[float] | None = None) -> dict:
    """A row per evaluated epoch: training accuracy and, when measured, test accuracy."""
    table = {"epoch": [int(e) for e in epochs], "training accuracy": [float(a) for a in train]}
    if test is not None:
        table["test accuracy"] = [float(a) for a in test]
    return table


def confusion(labels: Sequence[int], predicted: Sequence[int], classes: int) -> np.ndarray:
    """Counts of each (true, predicted) class pair: rows true, columns predicted."""
    true, pred = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    return np.bincount(true * classes + pred, minlength=classes * classes).reshape(classes, classes)


def confusion_words(labels: Sequence[int], predicted: Sequence[int], classes: int, split: str) -> str:
    """The confusion matrix: accuracy, the pairs the network confuses most, and the class it gets right least."""
    matrix = confusion(labels, predicted, classes)
    total = int(matrix.sum())
    if not total:
        return f"No {split} examples."
    right = int(np.trace(matrix))
    words = f"{right:,} of {total:,} {split} examples classified right ({percent(right / total)})."
    wrong = matrix.copy()
    np.fill_diagonal(wrong, 0)
    order = np.argsort(-wrong, axis=None, kind="stable")[:MAX_PAIRS]
    pairs = [divmod(int(i), classes) for i in order if wrong.flat[i] > 0]
    if not pairs:
        return words + " None is confused."
    named = [f"{t} taken for {p} {wrong[t, p]:,} times" for t, p in pairs]
    words += f" Confused most: {'; '.join(named)}."
    counts = matrix.sum(axis=1)
    recall = np.where(counts > 0, np.diag(matrix) / np.maximum(counts, 1), np.inf)
    worst = int(np.argmin(recall))
    return words + f" Class {worst} is right least often: {percent(recall[worst])} of its {counts[worst]:,} examples."


def confusion_table(labels: Sequence[int], predicted: Sequence[int], classes: int) -> dict[str, list]:
    """The confusion matrix as a table: a row per true class, a column per predicted class."""
    matrix = confusion(labels, predicted, classes)
    table: dict[str, list] = {"true class": list(range(classes))}
    for column in range(classes):
        table[f"predicted {column}"] = matrix[:, column].tolist()
    return table


def shown_predictions(labels: Sequence[int], predicted: Sequence[int], count: int) -> np.ndarray:
    """The images the predictions chart draws, by index: the wrongly predicted first, in order, at most `count`."""
    true, pred = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    return np.argsort(true == pred, kind="stable")[:count]


def predictions_words(labels: Sequence[int], predicted: Sequence[int], count: int, split: str) -> str:
    """The test images drawn: how many of them the network gets wrong, and what it takes each for."""
    true, pred = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    shown = shown_predictions(true, pred, count)
    wrong = [i for i in shown if true[i] != pred[i]]
    words = f"{len(shown)} {split} images, the wrongly predicted first: {len(wrong)} of them wrong"
    if wrong:
        words += " (" + ", ".join(f"{_a(true[i])} {true[i]} read as {pred[i]}" for i in wrong) + ")"
    total_wrong = int((true != pred).sum())
    return words + f"; {total_wrong:,} of all {len(true):,} {split} images are predicted wrong."


def predictions_table(labels: Sequence[int], predicted: Sequence[int], count: int) -> dict[str, list]:
    """A row per image drawn: its place in the data, its true and predicted class."""
    true, pred = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    shown = shown_predictions(true, pred, count)
    return {
        "image": [int(i) + 1 for i in shown],
        "true": true[shown].tolist(),
        "predicted": pred[shown].tolist(),
        "right": (true[shown] == pred[shown]).tolist(),
    }


def scores_words(values: Sequence[float]) -> str:
    """A drawing's scores: the highest, how far ahead of the next best, and every score."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(-values, kind="stable")
    top = int(order[0])
    words = f"Highest: {top}, at {number(values[top])}"
    if len(values) > 1:
        second = int(order[1])
        words += f"; next best {second} at {number(values[second])}, {number(values[top] - values[second])} lower"
    every = ", ".join(f"{digit}: {number(score)}" for digit, score in enumerate(values))
    return words + f". Every score: {every}."


def top_units_words(units: Sequence[tuple[int, float]], predicted: int) -> str:
    """The hidden units adding most to the top score, each with what it adds."""
    named = ", ".join(f"unit {unit} adds {number(share)}" for unit, share in units)
    total = sum(share for _, share in units)
    return f"The {len(units)} hidden units adding most to the score for {predicted}: {named}; {number(total)} in all."


def _a(number: int) -> str:
    """The article a number takes read aloud: "an 8", "an 11", "a 3"."""
    return "an" if str(number)[0] == "8" or str(number) in ("11", "18") else "a"
