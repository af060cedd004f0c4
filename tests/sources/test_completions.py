"""Completion samples from real TRL parquet files, a live writer, broken files and hostile text."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rltui.model.samples import step_stats
from rltui.sample_feed import RunSamples
from rltui.session import open_sessions
from rltui.sources.completions import ParquetFolder, RolloutFolder, find_sample_folders
from rltui.sources.fs import LocalFS
from rltui.sources.rich_samples import RichTableLog

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "fixtures" / "runs"
HACKING = RUNS / "grpo_length_hacking"


def _write(path: Path, step: int, completions: list[str], rewards: list[float], prompt: str = "p") -> None:
    table = pa.table(
        {
            "step": [step] * len(completions),
            "prompt": [prompt] * len(completions),
            "completion": completions,
            "length_reward": rewards,
            "advantage": [0.0] * len(completions),
        }
    )
    pq.write_table(table, path)


def test_real_trl_parquet_reads_every_row_and_column() -> None:
    folder = ParquetFolder(str(HACKING / "completions"))
    assert 150 in folder.listing()
    assert 1 in folder.listing()
    res = folder.read(150)
    assert not res.problems
    assert not res.wait
    truth = pq.read_table(HACKING / "completions" / "completions_00150.parquet").to_pylist()
    assert len(res.samples) == len(truth) == 16
    for got, row in zip(res.samples, truth, strict=True):
        assert got.step == 150
        assert got.prompt == row["prompt"]
        assert got.completion == row["completion"]
        assert got.reward == pytest.approx(row["length_reward"])
        assert got.advantage == pytest.approx(row["advantage"])
        assert [name for name, _ in got.rewards] == ["length_reward"]
        assert got.rewards[0][1] == pytest.approx(row["length_reward"])


def test_length_hacking_statistics_from_the_samples() -> None:
    folder = ParquetFolder(str(HACKING / "completions"))
    first = step_stats(1, folder.read(1).samples).values
    last = step_stats(150, folder.read(150).samples).values
    # completions grew, stopped ending with a sentence, and every group scored alike at the cap
    assert last["samples/length/mean"] > 2 * first["samples/length/mean"]
    assert first["samples/no_eos_share"] < 0.2
    assert last["samples/no_eos_share"] > 0.9
    assert last["samples/reward/mean"] == pytest.approx(3.2, abs=1e-6)
    assert last["samples/frac_reward_zero_std"] == 1.0
    assert first["samples/frac_reward_zero_std"] < 0.5
    assert last["samples/empty_share"] == 0.0


def test_rich_tables_from_the_real_console_log() -> None:
    log = RichTableLog(str(HACKING / "console.log"))
    steps = log.listing()
    assert sorted(steps) == list(range(1, 151))
    got = log.read(150).samples
    parquet = {s.completion.strip() for s in ParquetFolder(str(HACKING / "completions")).read(150).samples}
    assert got
    assert all(s.completion.strip() in parquet for s in got)
    assert all(s.reward == pytest.approx(3.2) for s in got)


def test_writer_adds_parquet_files_while_the_session_follows(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(HACKING, run, ignore=shutil.ignore_patterns("completions"))
    (run / "completions").mkdir()
    session = open_sessions([str(run)])[0]
    session.load()
    session.read_samples()
    assert not session.samples.full  # only the console's sample tables so far
    done = threading.Event()

    def writer() -> None:
        for step in range(1, 6):
            _write(run / "completions" / f"completions_{step:05d}.parquet", step, ["a b c ."] * 4, [1.0] * 4)
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    seen: set[int] = set()
    while not done.wait(0.002):
        session.poll()  # reading while the files are being written
    t.join()
    # Then a few more polls: the book held the console's 150 excerpt steps until the folder was
    # first seen, so "5 steps seen" could not end the loop (it ended it early under load).
    for _ in range(20):
        session.poll()
        seen = set(session.samples.book.steps())
        if seen == {1, 2, 3, 4, 5}:
            break
    assert seen == {1, 2, 3, 4, 5}
    view = session.view("samples/count")
    assert view is not None
    assert list(view.steps) == [1, 2, 3, 4, 5]
    assert list(view.values) == [4.0] * 5
    src = [s for s in session.sources() if s.kind == "completions"]
    assert src
    assert src[0].points == 20
    assert not src[0].problems


def test_half_written_file_waits_and_corrupt_file_is_a_problem(tmp_path: Path) -> None:
    comp = tmp_path / "completions"
    comp.mkdir()
    _write(comp / "completions_00001.parquet", 1, ["x ."] * 2, [1.0, 0.0])
    whole = tmp_path / "whole.parquet"
    _write(whole, 2, ["done ."] * 2, [1.0, 1.0])
    data = whole.read_bytes()
    (comp / "completions_00002.parquet").write_bytes(data[: len(data) // 2])  # the writer is mid-way
    feed = RunSamples(str(tmp_path))
    feed.read_all()
    assert feed.book.steps() == [1]
    assert not any(s.problems for s in feed.sources())  # waiting is not a problem
    (comp / "completions_00002.parquet").write_bytes(data)  # now whole
    feed.read_all()
    assert feed.book.steps() == [1, 2]
    assert [s.completion for s in feed.book.get(2)] == ["done ."] * 2
    # a file with both magics but garbage inside: reported, the others keep working
    (comp / "completions_00003.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 50 + b"PAR1")
    _write(comp / "completions_00004.parquet", 4, ["four ."], [2.0])
    feed.read_all()
    assert feed.book.steps() == [1, 2, 4]
    problems = [p for s in feed.sources() for p in s.problems]
    assert any("completions_00003.parquet" in p.path and "corrupt parquet" in p.message for p in problems)
    # a torn file that is no longer the newest is a problem too (the writer moved on)
    (comp / "completions_00005.parquet").write_bytes(data[:100])
    _write(comp / "completions_00006.parquet", 6, ["six ."], [2.0])
    feed.read_all()
    problems = [p for s in feed.sources() for p in s.problems]
    assert any("completions_00005.parquet" in p.path and "incomplete" in p.message for p in problems)
    assert 6 in feed.book.steps()


def test_escape_sequences_and_markup_inside_a_completion(tmp_path: Path) -> None:
    comp = tmp_path / "completions"
    comp.mkdir()
    evil = "ok \x1b[31mred\x1b[0m \x1b]0;pwned\x07 [bold red]x[/bold red] \x9b2J\x07end"
    _write(comp / "completions_00001.parquet", 1, [evil], [1.0], prompt="\x1b[2Jclear [link=x]y[/link]")
    s = RunSamples(str(tmp_path))
    step, samples = s.at(None)
    assert step == 1
    got = samples[0]
    assert "\x1b" not in got.completion
    assert "\x9b" not in got.completion
    assert "\x07" not in got.completion
    assert "pwned" not in got.completion
    assert got.completion == "ok red  [bold red]x[/bold red] 2Jend"  # markup kept as literal text
    assert got.prompt == "clear [link=x]y[/link]"


def test_missing_pyarrow_names_the_install_command(tmp_path: Path) -> None:
    comp = tmp_path / "completions"
    comp.mkdir()
    _write(comp / "completions_00001.parquet", 1, ["a ."], [1.0])
    code = (
        "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None\n"
        "from rltui.sample_feed import RunSamples\n"
        f"s = RunSamples({str(tmp_path)!r}); s.read_all()\n"
        "print([p.message for src in s.sources() for p in src.problems])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "pip install 'rltui[samples]'" in out.stdout


def test_verl_rollout_dumps(tmp_path: Path) -> None:
    dump = tmp_path / "rollouts"
    dump.mkdir()
    lines = [
        {"input": "q", "output": f"answer {i}", "score": float(i), "step": 3, "acc": 1.0} for i in range(4)
    ]
    (dump / "3.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    (dump / "4.jsonl").write_text(json.dumps(lines[0]) + "\n" + '{"input": "q", "outp')  # still writing
    folders = find_sample_folders(str(tmp_path))
    assert len(folders) == 1
    assert isinstance(folders[0], RolloutFolder)
    res = folders[0].read(3)
    assert [s.completion for s in res.samples] == [f"answer {i}" for i in range(4)]
    assert [s.reward for s in res.samples] == [0.0, 1.0, 2.0, 3.0]
    assert res.samples[0].rewards == (("acc", 1.0),)
    assert folders[0].read(4).wait


def test_plain_check_does_not_read_the_samples() -> None:
    """Laziness: a run whose logs have every scalar the samples witness never imports pyarrow."""
    code = (
        "import sys, io, contextlib\n"
        "from rltui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['check', {str(HACKING)!r}])\n"
        "print('pyarrow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_samples_witness_where_the_logs_lack_length(tmp_path: Path) -> None:
    """A run logging only a reward (custom loop, JSONL) gets length and truncation from its samples."""
    run = tmp_path / "run"
    (run / "completions").mkdir(parents=True)
    rows = []
    for step in range(1, 41):
        rows.append(json.dumps({"step": step, "reward": step / 40}))
        n = 1 + step  # completions grow and stop ending with a full stop
        text = " ".join(["word"] * n) + ("" if step > 10 else " .")
        _write(run / "completions" / f"completions_{step:05d}.parquet", step, [text] * 4, [1.0] * 4)
    (run / "metrics.jsonl").write_text("\n".join(rows) + "\n")
    session = open_sessions([str(run)])[0]
    session.load()
    assert session.view("samples/length/mean") is not None  # read at load, for the rules
    snap = session.snapshot()
    length = next(r for r in snap.instruments if r.id == "length")
    assert length.status != "unavailable"
    assert length.primary == "samples/length/mean"
    samples = next(r for r in snap.instruments if r.id == "samples")
    assert samples.status != "unavailable"
    assert "zero-std groups 100%" in samples.summary


def _varied(step: int, i: int) -> str:
    words = [f"w{step}_{i}_{j}" for j in range(6 + 3 * i)]
    return " ".join(words) + "."


def _looping(step: int, i: int) -> str:
    return "the answer is " + "so the answer is " * (3 + 2 * i) + "."


@pytest.mark.parametrize("loops_from", [20, None], ids=["loops", "near_miss"])
def test_repetition_loops_in_the_samples_raise_diversity_collapse(
    tmp_path: Path, loops_from: int | None
) -> None:
    """A second witness no trainer logs: completions falling into repetition loops (samples only)."""
    run = tmp_path / "run"
    (run / "completions").mkdir(parents=True)
    rows = []
    for step in range(1, 61):
        rows.append(json.dumps({"step": step, "reward": 0.5 + step / 200}))
        looping = loops_from is not None and step >= loops_from
        texts = [(_looping if looping else _varied)(step, i) for i in range(4)]
        if not looping and step % 3 == 0:
            texts[0] = "a b c d e a b c f g."  # one repeated 3-gram now and then: a near miss
        _write(run / "completions" / f"completions_{step:05d}.parquet", step, texts, [1.0, 0.0, 1.0, 0.0])
    (run / "metrics.jsonl").write_text("\n".join(rows) + "\n")
    session = open_sessions([str(run)])[0]
    session.load()
    alerts = [a for a in session.snapshot().alerts if a.id == "diversity_collapse"]
    if loops_from is None:
        assert alerts == []
        return
    assert alerts, "repetition loops in every completion went unnoticed"
    alert = alerts[0]
    assert alert.severity == "warn"
    assert "repeat themselves" in alert.action
    assert loops_from <= alert.first_step <= loops_from + 15


def _in_thread(fn: object, timeout: float = 10.0) -> object:
    """``fn()`` in a daemon thread; fails the test (instead of hanging it) if it does not return."""
    box: list[object] = []
    assert callable(fn)
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "reading the samples hung"
    return box[0]


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs")
def test_fifos_and_symlinks_out_of_the_run_among_the_samples(tmp_path: Path) -> None:
    """A FIFO named like a step file blocked ``open()`` forever (the samples screen and any
    witness read hung); a symlink out of the run read someone else's file. Both are skipped now,
    and the real steps around them still read."""
    import os

    run = tmp_path / "run"
    shutil.copytree(HACKING, run)
    folder = run / "completions"
    real = sorted(folder.glob("completions_*.parquet"))
    os.mkfifo(folder / "completions_99998.parquet")
    outside = tmp_path / "outside.parquet"
    shutil.copyfile(real[0], outside)
    (folder / "completions_99999.parquet").symlink_to(outside)
    rollouts = run / "rollouts"
    rollouts.mkdir()
    os.mkfifo(rollouts / "7.jsonl")

    samples = RunSamples(str(run), fs=LocalFS(str(run)))
    steps = _in_thread(samples.steps)
    assert steps == sorted(int(p.stem.split("_")[1]) for p in real)  # neither stand-in is a step
    assert _in_thread(samples.read_all) == len(real)
    assert samples.counts()[0] == len(real)
    # Read directly, a FIFO is a problem at once, not a wait.
    direct = ParquetFolder(str(folder))
    direct.listing()
    res = _in_thread(lambda: direct.read(99998))
    assert not res.samples  # type: ignore[attr-defined]
