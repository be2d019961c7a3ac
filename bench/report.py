"""Sections as markdown tables, the machine they ran on, and the BENCHMARKS.md page."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits


@dataclass
class Section:
    """One titled table with a note on method under the title."""

    title: str
    note: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def markdown(self) -> str:
        """The section as a markdown heading, paragraph and table."""
        lines = [f"## {self.title}", "", self.note, "", _row(self.header), _row(["---"] * len(self.header))]
        lines += [_row(row) for row in self.rows]
        return "\n".join(lines) + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what the platform module knows."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which a container can make smaller than the machine)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine() -> list[tuple[str, str]]:
    """What the figures depend on: cores, CPU, library versions and thread count."""
    return [
        ("cores", f"{usable_cores()} usable of {os.cpu_count()}"),
        ("CPU", cpu_model()),
        ("Python", platform.python_version()),
        ("torch", f"{torch.__version__} ({torch.get_num_threads()} threads, set once at start)"),
        ("numpy", f"{np.__version__} (BLAS: {_numpy_blas()}, {_blas_threads()} threads)"),
        ("GPU", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none that torch can use"),
    ]


def _blas_threads() -> str:
    return ", ".join(sorted({str(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"}))


def _numpy_blas() -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # the config layout differs between numpy builds; the name is only informative
        return "unknown"


def refuse_shared_core(parser: argparse.ArgumentParser, core: int, others: str) -> None:
    """Stop with a message where this process cannot keep `core` for a server and another core for the `others`."""
    usable = os.sched_getaffinity(0)
    if core not in usable or len(usable) < 2:
        parser.error(
            f"the server takes core {core} and the {others} another: this process may use cores {sorted(usable)}"
        )


@contextlib.contextmanager
def off_core(core: int | None) -> Iterator[None]:
    """While the block runs, this process, and what it starts, keeps off `core` (None: any core will do)."""
    cores = os.sched_getaffinity(0)
    if core is not None:
        os.sched_setaffinity(0, cores - {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)


def load() -> str:
    """The machine's load average over 1, 5 and 15 minutes: other work running beside the benchmark."""
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


# BENCHMARKS.md may hold other reports too; this command rewrites only the text between its markers.
START, END = "<!-- python -m bench: start -->", "<!-- python -m bench: end -->"


def write(path: Path, text: str, partial: bool = False) -> None:
    """Put `text` between this command's markers in `path`, keeping whatever else the file holds; a `partial`
    report (some sections only) replaces just its own sections and the header, keeping the other sections."""
    old = path.read_text() if path.exists() else ""
    if START in old and END in old:
        head, rest = old.split(START, 1)
        kept, tail = rest.split(END, 1)
        if partial:
            text = merge(kept, text)
        path.write_text(head + f"{START}\n{text}{END}\n" + tail.lstrip("\n"))
    else:
        path.write_text(f"{START}\n{text}{END}\n" + ("\n" + old if old else ""))


def _split(report: str) -> tuple[str, dict[str, str]]:
    """A report's header and its sections by heading line, in order."""
    head, *parts = report.split("\n## ")
    return head, {part.split("\n", 1)[0]: "## " + part for part in parts}


def merge(old: str, new: str) -> str:
    """`new`'s header and sections, with every section of `old` that `new` did not measure kept in its place."""
    _, kept = _split(old)
    head, measured = _split(new)
    sections = {**kept, **measured}  # a measured section takes its old place; a new one goes last
    return head.rstrip("\n") + "\n\n" + "\n".join(text.rstrip("\n") + "\n" for text in sections.values())


def page(command: str, sections: list[Section], load_at_start: str) -> str:
    """BENCHMARKS.md: the machine, and every section's table, each with when and how it was measured."""
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = ["# Benchmarks", "", f"Last measured {now} with:", "", "```", command, "```", ""]
    lines += [f"- {name}: {value}" for name, value in machine()]
    lines += [f"- load average (1 / 5 / 15 min): {load_at_start} at the start, {load()} at the end"]
    lines += [
        "",
        "Each figure is the median of several repetitions; where a baseline and a candidate are compared they run "
        "interleaved (baseline, candidate, baseline, candidate, ...) after one uncounted warm-up round, and a ratio "
        "is the median of the per-round ratios. Ratios matter more than absolute times on a shared machine. "
        "`--only` measures some sections again and keeps the others: each section says when it was measured.",
        "",
    ]
    for section in sections:
        section.note += f" Measured {now} with `{command}`."
    return "\n".join(lines) + "\n".join(section.markdown() for section in sections)


def provenance(command: str, load_at_start: str) -> str:
    """The line under a section: the command that measured it, the machine, and its load at the start and the end."""
    machine_text = "; ".join(f"{k} {v}" for k, v in machine())
    return (
        f"\nMeasured with `{command}` on: {machine_text}; load average (1 / 5 / 15 min) {load_at_start} at the start, "
        f"{load()} at the end.\n"
    )


def publish(text: str, name: str, output: Path, write: bool) -> None:
    """Print a section and, when `write`, put it between the markers `name` of `output`."""
    print(text)
    if write:
        replace_marked(output, name, text)
        print(f"updated the {name} section of {output}")


def replace_marked(path: Path, name: str, section: str) -> None:
    """Put `section` between the markers `<!-- name:start -->` and `<!-- name:end -->` of `path` (added at its end
    if missing), keeping the rest of the file."""
    start_mark, end_mark = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = f"{start_mark}\n{section.strip()}\n{end_mark}"
    text = path.read_text() if path.exists() else ""
    start, end = text.find(start_mark), text.find(end_mark)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(end_mark) :]
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section + "\n"
    path.write_text(text)


def with_threads(threads: int, measure: Callable[[bool], list[Section]], quick: bool) -> list[Section]:
    """`measure(quick)` with `threads` torch and BLAS threads for its duration (torch's count restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            return measure(quick)
    finally:
        torch.set_num_threads(before)


def print_sections(module: str, about: str, quick_help: str, run: Callable[[bool], list[Section]], argv=None) -> None:
    """`python -m bench.MODULE [--quick]`: run its sections alone and print their tables (`python -m bench` records
    them in BENCHMARKS.md)."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{module}", description=about)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for section in run(args.quick):
        print(section.markdown(), flush=True)
