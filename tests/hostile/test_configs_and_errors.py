"""Hostile ``rltui.toml`` files, hostile names, and errors: no rule switched off behind the user's
back, every change shown, every unexpected error exit 2 with one sanitised line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from rltui import cli
from rltui.model.patterns import CATALOGUE
from rltui.session import open_new_sessions, open_sessions
from rltui.text import sanitize
from rltui.ui.export import csv_text, write_csv
from tests.hostile.conftest import REPO, check, check_json

SCHEMA = json.loads((REPO / "docs" / "check.schema.json").read_text())
ALL_RULE_IDS = [spec.id for spec in CATALOGUE]
SILENCE_ALL = "".join(f"[rules.{rule}]\nenabled = false\n" for rule in ALL_RULE_IDS)


def test_run_folder_config_cannot_silence_rules(explosion: Path, isolated: dict[str, str]) -> None:
    code_before, before = check_json(str(explosion), env=isolated)
    (explosion / "rltui.toml").write_text(SILENCE_ALL)
    code, doc = check_json(str(explosion), env=isolated)
    jsonschema.validate(doc, SCHEMA)
    run = doc["runs"][0]
    assert code == code_before == 1
    assert len(run["alerts"]) == len(before["runs"][0]["alerts"]) > 0
    assert run["config"]["files"] == [str(explosion / "rltui.toml")]
    assert run["config"]["changed"] == []
    assert len(run["config"]["ignored"]) == len(ALL_RULE_IDS)
    text = check(str(explosion), env=isolated).stdout
    assert "not applied: rules.margin_runaway.enabled=false" in text


def test_user_opt_in_applies_the_run_config_and_shows_it(explosion: Path, isolated: dict[str, str]) -> None:
    (explosion / "rltui.toml").write_text(SILENCE_ALL + "[trust]\nrun_configs = true\n")
    code, doc = check_json(str(explosion), env=isolated)
    assert code == 1  # a run config cannot trust itself
    user = Path(isolated["XDG_CONFIG_HOME"]) / "rltui" / "rltui.toml"
    user.parent.mkdir()
    user.write_text("[trust]\nrun_configs = true\n")
    code, doc = check_json(str(explosion), env=isolated)
    run = doc["runs"][0]
    assert code == 0
    assert run["alerts"] == []
    assert "rules.margin_runaway.enabled=false" in run["config"]["changed"]
    assert run["config"]["files"] == [str(user), str(explosion / "rltui.toml")]
    # --config naming the run's file is an opt-in too
    code, _ = check_json(str(explosion), "--config", str(explosion / "rltui.toml"), env=isolated)
    assert code == 0


@pytest.mark.parametrize(
    "content",
    [b"[rules.margin_runaway\n", b"[rules.nope]\nx = 1\n", b"\xff\xfe junk", b"[rules.\x1b]0;PWNED\x07]\n"],
)
def test_bad_run_config_is_that_runs_problem(
    explosion: Path, isolated: dict[str, str], content: bytes
) -> None:
    (explosion / "rltui.toml").write_bytes(content)
    proc = check(str(explosion), "--json", env=isolated)
    assert proc.returncode == 1  # the run is still judged, with the user's own config
    doc = json.loads(proc.stdout)
    assert any("rltui.toml" in p["path"] for p in doc["problems"])
    assert "\x1b" not in proc.stdout
    assert "\x1b" not in proc.stderr


def test_sparse_gigabyte_config_is_refused_fast(explosion: Path, isolated: dict[str, str]) -> None:
    with (explosion / "rltui.toml").open("wb") as fh:
        fh.truncate(1 << 30)
    proc = check(str(explosion), "--json", env=isolated, timeout=30)
    doc = json.loads(proc.stdout)
    assert any("larger than" in p["message"] for p in doc["problems"])
    assert proc.returncode == 1


def test_fifo_config_does_not_hang(explosion: Path, isolated: dict[str, str]) -> None:
    os.mkfifo(explosion / "rltui.toml")
    proc = check(str(explosion), "--json", env=isolated, timeout=30)
    assert proc.returncode == 1
    assert any("not a regular file" in p["message"] for p in json.loads(proc.stdout)["problems"])


def test_unstatable_config_location_exits_2_with_one_line(explosion: Path, tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # stat raises ELOOP (a permission error does the same, but root reads all)
    work = tmp_path / "w"
    work.mkdir()
    proc = check(str(explosion), env={"XDG_CONFIG_HOME": str(loop / "x")}, cwd=work)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_sweep_gaining_a_run_with_a_bad_config_keeps_going(tmp_path: Path, isolated: dict[str, str]) -> None:
    sweep = tmp_path / "sweep"
    good = sweep / "a"
    good.mkdir(parents=True)
    (good / "m.jsonl").write_text('{"step": 1, "loss": 1}\n')
    known = open_sessions([str(sweep)])
    bad = sweep / "b"
    bad.mkdir()
    (bad / "m.jsonl").write_text('{"step": 1, "loss": 1}\n')
    (bad / "rltui.toml").write_text("[rules.margin_runaway\n")
    (fresh,) = open_new_sessions([str(sweep)], known)
    assert any("invalid TOML" in p.message for p in fresh.problems)
    fresh.load()
    assert fresh.snapshot().metrics["loss"].points == 1


def test_unexpected_error_exits_2_with_one_sanitised_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rltui.commands.check as check_mod

    def boom(args: object) -> int:
        raise RuntimeError("bad \x1b]0;PWNED\x07 thing\nsecond line")

    monkeypatch.setattr(check_mod, "run_check", boom)
    assert cli.main(["check", "."]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert len(err.strip().splitlines()) == 1


def test_no_run_message_is_sanitised(tmp_path: Path) -> None:
    hostile = tmp_path / "x\x1b]0;PWNED\x07y"
    hostile.mkdir()
    proc = check(str(hostile))
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr
    assert "\x07" not in proc.stderr
    assert "no run found" in proc.stderr


# -- hostile names --------------------------------------------------------------------------------


def test_bidi_overrides_never_reach_the_screen() -> None:
    assert sanitize("loss\u202egnp.exe\u2066x\u2069") == "lossgnp.exex"


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    from rltui.model.store import MetricStore
    from rltui.records import PointChunk

    store = MetricStore()
    store.add("s", {'=HYPERLINK("http://x","y")': PointChunk.from_lists([1], [0.0], [1.0])})
    view = store.view('=HYPERLINK("http://x","y")')
    assert view is not None
    out = tmp_path / "x.csv"
    write_csv(out, [("@run", view)])
    row = out.read_text().splitlines()[1]
    assert row.startswith("'@run,\"'=HYPERLINK(")
    assert csv_text("loss") == "loss"
    assert csv_text("-1") == "'-1"
