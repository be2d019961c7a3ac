"""scripts/serve-class without a browser: the proxy config it writes is valid HAProxy, and bad arguments are refused."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from harness.cluster import CONFIG, backend_config, haproxy_binary, main
from harness.server import ROOT, free_port


def test_backend_names_each_process_with_its_own_cookie():
    config = backend_config([8601, 8602, 8603])
    assert config.splitlines() == [
        "backend twolayer from backend_settings",
        "    server app1 127.0.0.1:8601 check cookie app1",
        "    server app2 127.0.0.1:8602 check cookie app2",
        "    server app3 127.0.0.1:8603 check cookie app3",
    ]


@pytest.mark.parametrize("backend", ["generated", "deploy/backend-hosts.cfg"])
def test_haproxy_accepts_the_config_with_either_backend(backend, tmp_path):
    """`haproxy -c` passes the repo's config with the generated backend and with the several-machines example."""
    path = tmp_path / "backend.cfg"
    if backend == "generated":
        path.write_text(backend_config([8601, 8602]))
    else:
        path = CONFIG.parent.parent / backend
    check = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(CONFIG), "-f", str(path)],
        env={"TWOLAYER_BIND": "127.0.0.1:8501"},
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ALERT" not in check.stdout + check.stderr


@pytest.mark.parametrize("argv", [["0"], ["65"], ["2", "--port", "70000"], ["many"]])
def test_bad_arguments_exit_2_saying_what_is_allowed(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("store", "reason"),
    [
        ("mysql://db.example/runs", "mysql://db.example/runs is neither a directory nor a postgresql:// URL"),
        (
            "postgresql://teacher:s3cret@127.0.0.1:1/class",
            "cannot connect to postgresql://teacher:***@127.0.0.1:1/class",
        ),
    ],
)
def test_a_store_that_cannot_be_used_stops_serve_class_saying_why(store, reason, capsys):
    assert main(["2", "--store", store]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: the run store at ") and reason in error
    assert "s3cret" not in error, "a password is never shown"


def test_serve_class_serves_through_the_proxy_and_stops_everything_on_ctrl_c(tmp_path):
    """The script as a lecturer runs it: the app answers on the public port; Ctrl+C leaves no process behind."""
    port = free_port()
    script = subprocess.Popen(
        ["bash", "scripts/serve-class", "2", "--port", str(port), "--address", "127.0.0.1", "--store", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        for line in script.stdout:
            lines.append(line)
            if "Serving twolayer on" in line:
                break
        assert any(f"http://127.0.0.1:{port}" in line for line in lines), "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as answer:
            assert answer.read() == b"ok"
        children = descendants(script.pid)
        assert len(children) >= 3, f"two app processes and HAProxy, found {children}"
        os.killpg(script.pid, signal.SIGINT)  # Ctrl+C in the terminal signals the whole group
        assert script.wait(timeout=30) == 0
        assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == [], "processes left running"
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
