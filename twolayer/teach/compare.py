"""Compare every stage: the same start, data and arithmetic, so their losses should agree to rounding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twolayer.data.dataset import Dataset
from twolayer.teach.gradcheck import gradient_check
from twolayer.train.config import STAGES, TrainConfig
from twolayer.train.trainer import Trainer, make_dataset

MAX_EPOCHS = 2000  # five runs on one click: keep the wait short
GRADCHECK_ROWS = 256  # finite differences: a few hundred rows are plenty
# What counts as agreement. The same sums in another order differ by float64 rounding (~1e-16 each), which
# can grow over thousands of epochs; a central finite difference is off by ~1e-7 (its step and rounding).
SAME_ARITHMETIC = 1e-9
FINITE_DIFFERENCES = 1e-5
EXACTLY_EQUAL = 1e-17  # where a gap of 0 is drawn on a log scale


@dataclass(frozen=True)
class Comparison:
    """Each stage's loss curve, its largest relative gap to the NumPy stage, and the gradient check."""

    config: TrainConfig  # the NumPy stage's; the others differ only in `stage`
    curves: dict[str, tuple[list[int], list[float]]]
    gaps: list[dict[str, object]]
    gradcheck: list[dict[str, object]]
    gap_curves: dict[str, tuple[list[int], list[float]]]  # per stage, the relative gap to NumPy at every epoch


def comparison_configs(config: TrainConfig) -> dict[str, TrainConfig]:
    """One config per stage that computes exactly the same thing: shared start, float64, no bias, plain SGD (and no
    sharpness to measure: the comparison shows none)."""
    base = config.replace(
        init="shared", dtype="float64", optimizer="sgd", epochs=min(config.epochs, MAX_EPOCHS), sharpness=False
    )
    return {stage: base.replace(stage=stage, bias=False, learning_rate=config.learning_rate) for stage in STAGES}


def compare_stages(config: TrainConfig, data: Dataset | None = None) -> Comparison:
    """Train every stage from the same start on the same data; their curves, gaps and the gradient check."""
    configs = comparison_configs(config)
    reference_config = configs[STAGES[0]]  # the first stage, NumPy by hand: the others are measured against it
    data = data if data is not None else make_dataset(reference_config)
    curves, statuses = {}, {}
    for stage, stage_config in configs.items():
        trainer = Trainer(stage_config, data=data)
        trainer.advance(stage_config.epochs)
        epochs, losses = trainer.loss_curve()
        curves[stage] = (epochs.astype(int).tolist(), losses.tolist())
        statuses[stage] = trainer.status
    reference = np.array(curves[reference_config.stage][1])
    gaps, gap_curves = [], {}
    for stage in STAGES[1:]:
        losses = np.array(curves[stage][1])
        n = min(len(losses), len(reference))
        relative = np.abs(losses[:n] - reference[:n]) / np.abs(reference[:n])
        gap = float(relative.max()) if n else float("nan")
        gaps.append(
            {
                "stage": stage,
                "epochs": n,
                "largest relative gap to numpy": gap,
                "agrees": "✓" if gap < SAME_ARITHMETIC else "✗",
                "status": statuses[stage],
            }
        )
        gap_curves[stage] = (curves[stage][0][:n], np.maximum(relative, EXACTLY_EQUAL).tolist())
    start = Trainer(reference_config, data=data).initial_weights
    rows = min(len(data.x_train), GRADCHECK_ROWS)
    check = gradient_check(data.x_train[:rows], data.y_train[:rows], start["w1"], start["w2"])
    for row in check:
        limit = FINITE_DIFFERENCES if "finite" in row["compared"] else SAME_ARITHMETIC
        row["agrees"] = "✓" if row["max_rel_error"] < limit else "✗"
    return Comparison(reference_config, curves, gaps, check, gap_curves)


def format_table(comparison: Comparison) -> str:
    """The comparison as the plain-text tables the CLI prints (the page shows the same rows)."""
    c = comparison.config
    lines = [
        f"Same start, float64, no biases, plain SGD: hidden {c.hidden_size}, learning rate {c.learning_rate:g}, "
        f"{c.epochs} epochs, seed {c.seed}, data {c.data}",
        "",
        f"{'stage':<10} {'epochs':>7} {'largest relative gap to numpy':>30}  agrees  status",
    ]
    for row in comparison.gaps:
        lines.append(
            f"{row['stage']:<10} {row['epochs']:>7} {row['largest relative gap to numpy']:>30.2e}  "
            f"{row['agrees']:^6}  {row['status']}"
        )
    lines += ["", f"{'weight':<7} {'compared':<52} {'max relative error':>18}  agrees"]
    for row in comparison.gradcheck:
        lines.append(f"{row['weight']:<7} {row['compared']:<52} {row['max_rel_error']:>18.2e}  {row['agrees']:^6}")
    lines += [
        "",
        f"Agreement: stages within {SAME_ARITHMETIC:g} of each other (float64 rounding, ~1e-16 a sum, grows over "
        f"epochs); gradients within {SAME_ARITHMETIC:g} of autograd and {FINITE_DIFFERENCES:g} of finite "
        "differences (~1e-7 from the difference's step).",
    ]
    return "\n".join(line.rstrip() for line in lines)
