"""Where ``run -o`` writes, tried with real files: symlinks, FIFOs, devices, folders, signals, kill -9.

Long jobs are interrupted once a condition holds (the temporary file exists), never after a fixed
time, so the tests hold on a loaded machine.
"""

from __future__ import annotations

import csv
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from landscape_gui.core import engine, export, minima
from landscape_gui.core.fileio import TEMP_MARK, check_output, open_output
from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.starts import grid_starts
from landscape_gui.core.streaming import write_runs_csv
from landscape_gui.core.surfaces import get_surface
from landscape_gui.core.errors import LandscapeError

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["run", "--surface", "booth", "--optimizer", "adam", "--start=1,1", "--max-steps", "20"]
# Long enough to be interrupted while writing (30 million rows: minutes), refused by nothing.
LONG = ["run", "--surface", "rosenbrock", "--optimizer", "sgd", "--set", "lr=1e-5", "--grid", "100",
        "--max-steps", "3000"]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "landscape_gui", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env())


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "landscape_gui", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env())


def wait_until(condition, proc: subprocess.Popen | None = None, timeout: float = 300.0) -> None:
    """Poll ``condition`` until it holds (like qtbot.waitUntil); fail if ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended first (exit {proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        pause.wait(0.005)


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if TEMP_MARK in p.name]


def reference_bytes(tmp_path: Path) -> bytes:
    ref = tmp_path / "reference.csv"
    assert cli(*SMALL, "-o", str(ref)).returncode == 0
    return ref.read_bytes()


def test_a_symlink_is_kept_and_its_target_replaced(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "data" / "real.csv"
    real.write_text("old")
    link = tmp_path / "links" / "link.csv"
    link.symlink_to(Path("..") / "data" / "real.csv")
    res = cli(*SMALL, "-o", str(link))
    assert res.returncode == 0, res.stderr
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "data", "real.csv")
    assert real.read_bytes() == reference_bytes(tmp_path)
    assert temps(tmp_path / "data") == [] and temps(tmp_path / "links") == []


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "new.csv")
    assert cli(*SMALL, "-o", str(link)).returncode == 0
    assert link.is_symlink() and (tmp_path / "new.csv").read_bytes().startswith(b"run,step,")


def test_a_fifo_is_written_through_to_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    res = cli(*SMALL, "-o", str(fifo))
    reader.join(timeout=300)
    assert res.returncode == 0, res.stderr
    assert not reader.is_alive(), "the reader got end-of-file"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "still a FIFO"
    assert got == [reference_bytes(tmp_path)]


def test_dev_null_stays_a_character_device(tmp_path):
    before = os.stat("/dev/null")
    res = cli(*SMALL, "-o", "/dev/null")
    assert res.returncode == 0, res.stderr
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


@pytest.mark.parametrize(
    "where, message",
    [
        ("{tmp}", "it is a folder"),
        ("{tmp}/missing/out.csv", "does not exist"),
        ("{tmp}/file.txt/out.csv", "not a folder"),
        ("{tmp}/sub/", "it is a folder"),
    ],
)
def test_a_folder_or_missing_location_is_refused_before_computing(tmp_path, where, message):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    # LONG would compute for minutes: refusing it at once is what is tested (exit 2, one line).
    res = cli(*LONG, "-o", where.format(tmp=tmp_path))
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("landscape-gui: error: cannot write") and message in line


def test_an_unwritable_location_is_refused_before_computing():
    # /sys refuses new files even to root; LONG would otherwise compute for minutes first.
    res = cli(*LONG, "-o", "/sys/landscape-test.csv")
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("landscape-gui: error: cannot write /sys/landscape-test.csv: ")
    assert not os.path.exists("/sys/landscape-test.csv")


def test_a_block_device_is_refused():
    devs = [p for p in ("/dev/loop0", "/dev/sda", "/dev/vda", "/dev/nvme0n1") if os.path.exists(p)]
    if not devs:
        pytest.skip("no block device visible")
    with pytest.raises(LandscapeError, match="not a regular file"):
        check_output(devs[0])


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, 130)])
def test_a_signal_while_writing_removes_the_temp_file_and_keeps_the_old_file(tmp_path, sig, code):
    out = tmp_path / "out.csv"
    out.write_text("precious")
    proc = start(*LONG, "-o", str(out))
    try:
        wait_until(lambda: temps(tmp_path), proc)
        proc.send_signal(sig)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, proc.stderr.read()
    assert temps(tmp_path) == [], "no debris"
    assert out.read_text() == "precious"


def test_a_temp_file_left_by_kill_9_is_removed_by_the_next_write(tmp_path):
    out = tmp_path / "out.csv"
    proc = start(*LONG, "-o", str(out))
    try:
        wait_until(lambda: temps(tmp_path), proc)
        proc.kill()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    (stale,) = temps(tmp_path)
    assert stale.name.startswith(".out.csv" + TEMP_MARK)
    # a temp of a live process (another write in progress) is left alone
    live = tmp_path / f".out.csv{TEMP_MARK}{os.getppid()}-1"
    live.write_text("in progress")
    assert cli(*SMALL, "-o", str(out)).returncode == 0
    assert temps(tmp_path) == [live]
    assert out.read_bytes() == reference_bytes(tmp_path)


def test_open_output_replaces_atomically_and_keeps_the_mode(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("old")
    out.chmod(0o640)
    with pytest.raises(RuntimeError):
        with open_output(out) as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert out.read_text() == "old" and temps(tmp_path) == []
    with open_output(out) as fh:
        fh.write("new")
    assert out.read_text() == "new" and stat.S_IMODE(out.stat().st_mode) == 0o640


# --------------------------------------------------------------------------------------------------
# Non-finite starts


@pytest.mark.parametrize(
    "surface, start, empty",
    [
        (["--formula", "sqrt(abs(x))+y^2"], "0,1", {"grad_x"}),
        (["--formula", "1/x"], "0,0", {"loss", "grad_x"}),
        (["--formula", "sqrt(x) + y"], "0,0", {"grad_x"}),
        (["--surface", "rosenbrock"], "1e200,0", {"loss", "grad_x", "grad_y"}),
    ],
)
def test_an_undefined_start_is_one_diverged_row_with_empty_cells(tmp_path, surface, start, empty):
    out = tmp_path / "nf.csv"
    res = cli("run", *surface, "--optimizer", "adam", f"--start={start}", "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert not any(w in text.lower() for w in ("nan", "inf")), text
    (row,) = list(csv.DictReader(text.splitlines()))
    assert row["status"] == "diverged" and row["step"] == "0"
    assert {k for k in ("loss", "grad_x", "grad_y") if row[k] == ""} == empty
    (run,) = export.read_csv(out)
    assert run.status == "diverged" and run.steps == 0
    assert export.csv_text([run]) == text


# --------------------------------------------------------------------------------------------------
# Streaming: bounded memory, same bytes


@pytest.mark.parametrize("name", ["himmelblau", "six_hump_camel",
                                  pytest.param("nn_moons_mlp_bce", marks=pytest.mark.slow)])
def test_streamed_chunks_give_the_bytes_of_one_batch(name):
    import io

    s = get_surface(name)
    opt = get_optimizer("adam")
    hp = opt.resolve({"lr": 0.05})
    starts = grid_starts(s.bounds, 6)
    runs = engine.run_many(s, opt, starts, hp, bounds=s.bounds, max_steps=150, tol=1e-6)
    minima.label_runs_on_surface(s, runs, s.bounds)
    buf = io.StringIO()
    summary = write_runs_csv(buf, s, opt, starts, hp, bounds=s.bounds, max_steps=150, tol=1e-6,
                             rows_per_chunk=500)  # 3 starts a chunk
    assert buf.getvalue() == export.csv_text(runs)
    assert summary.runs == 36 and summary.rows == sum(len(r.positions) for r in runs)


def test_a_job_over_the_work_limit_is_refused_with_the_way_to_raise_it(tmp_path):
    out = tmp_path / "x.csv"
    res = cli("run", "--surface", "booth", "--optimizer", "sgd", "--grid", "2000", "-o", str(out))
    assert res.returncode == 2 and not out.exists()
    (line,) = res.stderr.strip().splitlines()
    assert "4,000,000 starts × 1,000 steps" in line and "--max-work" in line and "LANDSCAPE_GUI_MAX_WORK" in line
    res = cli("run", "--surface", "booth", "--optimizer", "sgd", "--grid", "3", "--max-steps", "10",
              "--max-work", "80", "-o", str(out))
    assert res.returncode == 2 and "limit given by --max-work of 80" in res.stderr
    res = cli("run", "--surface", "booth", "--optimizer", "sgd", "--grid", "3", "--max-steps", "10",
              "--max-work", "90", "-o", str(out))
    assert res.returncode == 0, res.stderr


def test_no_progress_output_when_stderr_is_not_a_terminal(tmp_path):
    out = tmp_path / "x.csv"
    res = cli("run", "--surface", "booth", "--optimizer", "sgd", "--grid", "5", "-o", str(out))
    assert res.returncode == 0
    assert res.stderr.strip().splitlines() == [f"wrote 25 runs (25 converged) to {out}"]


@pytest.mark.slow
def test_progress_is_drawn_on_a_terminal_for_a_long_job():
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # child: stderr is the pseudo-terminal
        os.environ["PYTHONPATH"] = str(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "landscape_gui", *LONG[:-2], "--max-steps", "1500",
                                  "-o", os.devnull])
    seen = b""
    try:
        while b"%|" not in seen:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"run:" in seen and b"%|" in seen


def test_basins_checks_its_three_outputs_and_its_size_before_computing(tmp_path):
    big = ["basins", "--surface", "himmelblau", "--optimizer", "adam", "--resolution", "1024"]
    res = cli(*big, "-o", str(tmp_path / "missing" / "hb"))
    assert res.returncode == 2 and "folder" in res.stderr and "does not exist" in res.stderr
    (tmp_path / "hb.png").mkdir()
    res = cli(*big, "-o", str(tmp_path / "hb"))
    assert res.returncode == 2 and "hb.png: it is a folder" in res.stderr
    res = cli(*big, "--max-steps", "5000", "-o", str(tmp_path / "other"))
    assert res.returncode == 2 and "1,048,576 starts × 5,000 steps" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hb.png"], "nothing written"


def test_a_file_with_a_very_long_name_is_written_and_its_stale_temps_found(tmp_path):
    from landscape_gui.core.fileio import remove_stale_temps, temp_name

    out = tmp_path / ("n" * 250 + ".csv")
    with open_output(out) as fh:
        fh.write("data")
    assert out.read_text() == "data" and temps(tmp_path) == []
    stale = Path(temp_name(str(out)).rsplit(TEMP_MARK, 1)[0] + TEMP_MARK + "999999999-1")
    stale.write_text("left by a killed run")
    other = tmp_path / f".other.csv{TEMP_MARK}999999999-1"
    other.write_text("another file's")
    assert remove_stale_temps(str(out)) == [str(stale)]
    assert other.exists()


def test_a_screenshot_into_a_missing_folder_is_refused_before_the_window_opens(tmp_path):
    res = cli("--surface", "booth", "--screenshot", str(tmp_path / "missing" / "shot.png"))
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert "cannot write" in line and "does not exist" in line
