"""`python -m bench.take_home`: the size of a run as one page (.html) and as an animation (.gif), in BENCHMARKS.md.

Two runs: the lecture's (random data, 64 rows, 500 epochs) and one of MNIST's size (60,000 training and 10,000 test
images of 28 x 28 random pixels with 10 classes, written to a .npz file first). Target: the lecture run's page
under 8 MB; the MNIST-size figure is what a full-size run costs, for the record.
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from plotly.offline import get_plotlyjs

from bench.report import load, provenance, publish
from bench.timing import verdict
from twolayer.teach.animation import animation_gif
from twolayer.teach.report import report_html
from twolayer.train.config import TrainConfig
from twolayer.train.trainer import Trainer

TARGET_BYTES = 8 * 2**20
PLOTLY_MB = len(get_plotlyjs()) / 2**20
ROOT = Path(__file__).resolve().parents[1]
MNIST_TEST_ROWS = 10_000
MNIST_RUN = {"stage": "optim", "hidden_size": 100, "learning_rate": 1e-3, "batch_size": 64, "device": "cpu"}


def mnist_size_file(folder: Path, rows: int) -> Path:
    """A .npz shaped like MNIST: `rows` training and MNIST_TEST_ROWS test images of random pixels, labels 0-9."""
    rng = np.random.default_rng(0)
    path = folder / "mnist-size.npz"
    np.savez(
        path,
        x=rng.integers(0, 256, (rows, 28, 28), dtype=np.uint8),
        y=rng.integers(0, 10, rows),
        x_test=rng.integers(0, 256, (MNIST_TEST_ROWS, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, MNIST_TEST_ROWS),
    )
    return path


def measure(name: str, config: TrainConfig) -> list[str]:
    """One table row: the run, its page's size and build time, its animation's frames, size, length and time."""
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    start = time.perf_counter()
    page = report_html(trainer).encode()
    page_seconds = time.perf_counter() - start
    start = time.perf_counter()
    gif = animation_gif(trainer)
    gif_seconds = time.perf_counter() - start
    with Image.open(io.BytesIO(gif)) as image:
        frames, played = image.n_frames, 0
        for index in range(frames):
            image.seek(index)
            played += image.info["duration"]
    return [
        name,
        f"{len(trainer.data.x_train):,}",
        f"{trainer.epoch:,}",
        f"{len(page) / 2**20:.2f} MB",
        f"{page_seconds:.2f}",
        str(frames),
        f"{len(gif) / 2**10:.0f} KB",
        f"{played / 1000:.1f} s",
        f"{gif_seconds:.2f}",
        verdict(len(page) < TARGET_BYTES),
    ]


def section(rows: int, epochs: int) -> str:
    """The section's table: the lecture run and the MNIST-size run."""
    with tempfile.TemporaryDirectory() as folder:
        data = mnist_size_file(Path(folder), rows)
        results = [
            measure("lecture: numpy stage, random data", TrainConfig()),
            measure(
                f"MNIST size: optim stage, {rows:,} images", TrainConfig(data=str(data), epochs=epochs, **MNIST_RUN)
            ),
        ]
    header = ["run", "training rows", "epochs", "page (.html)", "page s", "frames", "animation (.gif)", "plays for",
              "animation s", "page < 8 MB"]  # fmt: skip
    lines = [
        "## Taking a run home: the run as one page and as an animation",
        "",
        "The size of `twolayer train --report FILE.html` (one file: Plotly's script, "
        f"{PLOTLY_MB:.1f} MB, embedded once, the charts' data and the program) and of `--animation FILE.gif` "
        "(one 960 x 400 frame per histogram snapshot, at most 10 s), and the seconds each takes to build after the "
        "run. The MNIST-size run trains on random "
        f"28 x 28 images with 10 classes and {MNIST_TEST_ROWS:,} test images, hidden 100, Adam at 1e-3, "
        "mini-batches of 64. Neither file grows much with a run's length: a run keeps at most 64 snapshots and a "
        "curve is drawn from at most 2,000 points. Target: the lecture run's page under 8 MB.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in results),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, and write it between its markers in BENCHMARKS.md (unless --no-write)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.take_home", description=__doc__)
    parser.add_argument("--rows", type=int, default=60_000, help="MNIST-size training rows (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=5, help="MNIST-size run's epochs (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="only print (default: write BENCHMARKS.md)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="(default: %(default)s)")
    args = parser.parse_args(argv)
    load_at_start = load()  # the build times are seconds on a shared machine: say how busy it was
    text = section(args.rows, args.epochs)
    text += provenance(shlex.join(["python", "-m", "bench.take_home", *argv]), load_at_start)
    publish(text, "take-home", args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
