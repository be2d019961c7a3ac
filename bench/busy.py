"""What else the machine did while a benchmark ran: its figures are only as quiet as the machine was."""

from __future__ import annotations

import os
from dataclasses import dataclass
from time import perf_counter

TICK = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, str, float]]:
    """Every process now: pid -> (parent pid, name, CPU seconds of it and of its children it has waited for)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                name, fields = stat.read().rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        fields = fields.split()  # from the state on: ppid is fields[1], utime..cstime fields[11:15]
        found[int(entry.name)] = (int(fields[1]), name.split("(", 1)[1], sum(map(int, fields[11:15])) / TICK)
    return found


def descendants(root: int, table: dict[int, tuple[int, str, float]]) -> set[int]:
    """The pids in `table` whose chain of parents leads to `root` (root excluded)."""
    below: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        below.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in below.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def _busy_seconds() -> float:
    """CPU seconds every core has spent busy since boot (/proc/stat: all but idle and I/O wait)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / TICK


def _own_seconds() -> float:
    """CPU seconds of this process, of the children it has waited for, and of every live descendant."""
    own = os.times()
    table = processes()
    tree = sum(table[pid][2] for pid in descendants(os.getpid(), table))
    return own.user + own.system + own.children_user + own.children_system + tree


@dataclass
class Meanwhile:
    """The machine around a stretch of benchmark: `with Meanwhile() as m: ...`, then `m.text()`."""

    load: tuple[float, float] = (0.0, 0.0)  # the 1-minute load average at the start and at the end
    others: float = 0.0  # cores other programs kept busy on average (the machine's busy time less this tree's)

    def __enter__(self) -> Meanwhile:
        self._start = (perf_counter(), _busy_seconds(), _own_seconds(), os.getloadavg()[0])
        return self

    def __exit__(self, *exc: object) -> None:
        wall, busy, own, load = self._start
        elapsed = perf_counter() - wall
        self.load = (load, os.getloadavg()[0])
        # Clock ticks round both sides: a quiet machine can read a hair below zero.
        self.others = max(0.0, (_busy_seconds() - busy - (_own_seconds() - own)) / elapsed)

    def text(self) -> str:
        """One sentence for a section's note."""
        return (
            f"The machine meanwhile: load average (1 min) {self.load[0]:.1f} at the start and {self.load[1]:.1f} at "
            f"the end; other programs kept {self.others:.2f} of its {os.cpu_count()} cores busy on average."
        )
