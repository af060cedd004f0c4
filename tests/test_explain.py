"""`rltui explain`: list, details with current thresholds and their origin, unknown ids."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from rltui.commands.explain import run_explain
from rltui.model.patterns import CATALOGUE


def _run(rule: str | None, **kw: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = run_explain(argparse.Namespace(rule=rule, **kw), out, err)
    return rc, out.getvalue(), err.getvalue()


def test_list_every_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rc, out, _ = _run(None)
    assert rc == 0
    lines = [ln.split() for ln in out.splitlines() if ln.startswith("  ")]
    assert [ln[0] for ln in lines] == [s.id for s in CATALOGUE]
    row = next(ln for ln in lines if ln[0] == "margin_runaway")
    assert row[2] == "info/warn/critical"


def test_details_show_logic_thresholds_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    rc, out, _ = _run("margin_runaway")
    assert rc == 0
    for needle in (
        "DPO-04",
        "logic:",
        "cause:",
        "action",
        "source:",
        "warn_margin = 20  [PROP]  (default)",
        "info_margin = 10  [S2]",
        "3 of the last 4",
    ):
        assert needle in out


def test_details_show_override_origin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rltui.toml").write_text("[rules.kl_level]\nwarn_token = 0.7\n", encoding="utf-8")
    rc, out, _ = _run("kl_level")
    assert rc == 0
    assert "warn_token = 0.7  [S3]  (set in" in out
    assert "default 0.5" in out


def test_unknown_rule_suggests_close_matches() -> None:
    rc, out, err = _run("margin_runawy")
    assert rc == 2
    assert out == ""
    assert "margin_runaway" in err


def test_unknown_rule_without_matches_is_sanitised() -> None:
    rc, _, err = _run("\x1b[31mzzzz")
    assert rc == 2
    assert "\x1b" not in err


def test_user_docs_list_every_rule() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "patterns.md").read_text(encoding="utf-8")
    for spec in CATALOGUE:
        assert f"### `{spec.id}` ({spec.code})" in docs


def test_user_docs_catalogue_is_generated_from_the_specs() -> None:
    """docs/patterns.md's catalogue is exactly what the specs say (regenerate: rltui explain --markdown)."""
    from rltui.commands.explain import catalogue_markdown

    docs = (Path(__file__).resolve().parents[1] / "docs" / "patterns.md").read_text(encoding="utf-8")
    start = docs.index("## Catalogue")
    assert docs[start:].rstrip() == catalogue_markdown().rstrip()


def test_readme_toml_example_is_accepted_by_the_validator() -> None:
    import re

    import tomllib

    from rltui.model.config import Config

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    assert blocks, "the README shows an rltui.toml example"
    for block in blocks:
        cfg = Config.from_mapping(tomllib.loads(block))
        for rule, table in tomllib.loads(block).get("rules", {}).items():
            for name, value in table.items():
                if name != "enabled":
                    assert cfg.threshold(rule, name) == value
