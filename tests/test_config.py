"""rltui.toml: every threshold overridable, any rule disable-able, every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from rltui.model.config import Config, ConfigError
from rltui.model.patterns import CATALOGUE
from rltui.settings import find_config, load_config, read_config


def test_defaults_cover_every_rule_and_threshold() -> None:
    cfg = Config.defaults()
    for spec in CATALOGUE:
        assert cfg.enabled(spec.id)
        for name, t in spec.thresholds.items():
            assert cfg.threshold(spec.id, name) == t.value
            assert cfg.origin(spec.id, name) is None


def test_override_and_disable() -> None:
    cfg = Config.from_mapping(
        {"rules": {"margin_runaway": {"warn_margin": 25}, "kl_level": {"enabled": False}}}, origin="x.toml"
    )
    assert cfg.threshold("margin_runaway", "warn_margin") == 25.0
    assert cfg.origin("margin_runaway", "warn_margin") == "x.toml"
    assert cfg.threshold("margin_runaway", "info_margin") == 10.0
    assert not cfg.enabled("kl_level")
    assert cfg.enabled("kl_runaway")


@pytest.mark.parametrize(
    ("mapping", "needle"),
    [
        (
            {"rules": {"margin_runaway": {"warn_margn": 20}}},
            "rules.margin_runaway.warn_margn: unknown threshold",
        ),
        ({"rules": {"margin_runawy": {"warn_margin": 20}}}, "rules.margin_runawy: unknown rule"),
        (
            {"rules": {"margin_runaway": {"warn_margin": "20"}}},
            "rules.margin_runaway.warn_margin: expected a number",
        ),
        (
            {"rules": {"margin_runaway": {"warn_margin": True}}},
            "rules.margin_runaway.warn_margin: expected a number",
        ),
        ({"rules": {"kl_level": {"enabled": "no"}}}, "rules.kl_level.enabled: expected true or false"),
        ({"rules": {"kl_level": 3}}, "rules.kl_level: expected a table"),
        ({"rulez": {}}, "rulez: unknown section"),
    ],
)
def test_bad_values_name_the_key(mapping: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        Config.from_mapping(mapping)
    assert needle in str(e.value)


def test_unknown_threshold_lists_known_ones_and_close_match() -> None:
    with pytest.raises(ConfigError) as e:
        Config.from_mapping({"rules": {"margin_runaway": {"warn_margn": 20}}})
    msg = str(e.value)
    assert "did you mean warn_margin" in msg
    assert "known:" in msg
    assert "critical_margin" in msg


def _write(p: Path, text: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_search_order_run_then_cwd_then_user_and_run_config_needs_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, cwd, xdg = tmp_path / "run", tmp_path / "cwd", tmp_path / "xdg"
    run.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert find_config(run, cwd) is None
    user = _write(xdg / "rltui" / "rltui.toml", "[rules.kl_level]\nwarn_token = 0.7\n")
    assert find_config(run, cwd) == user
    here = _write(cwd / "rltui.toml", "[rules.kl_level]\nwarn_token = 0.8\n")
    assert find_config(run, cwd) == here
    mine = _write(run / "rltui.toml", "[rules.kl_level]\nwarn_token = 0.9\n")
    # A config inside the run folder is someone else's: the user's own applies (design.md §8).
    cfg, path = load_config(run, cwd)
    assert path == here
    assert cfg.threshold("kl_level", "warn_token") == 0.8
    # Opted in from the user's own file: the run's config applies over it.
    _write(cwd / "rltui.toml", "[trust]\nrun_configs = true\n[rules.kl_level]\nwarn_token = 0.8\n")
    cfg, path = load_config(run, cwd)
    assert path == mine
    assert cfg.threshold("kl_level", "warn_token") == 0.9
    assert cfg.origin("kl_level", "warn_token") == str(mine)


def test_home_fallback_without_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    p = _write(tmp_path / ".config" / "rltui" / "rltui.toml", "[rules.nonfinite]\nenabled = false\n")
    cfg, path = load_config(None, tmp_path / "nowhere")
    assert path == p
    assert not cfg.enabled("nonfinite")


def test_bad_file_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = _write(tmp_path / "rltui.toml", "[rules.margin_runaway]\nwarn_natz = 20\n")
    with pytest.raises(ConfigError) as e:
        read_config(bad)
    assert str(bad) in str(e.value)
    assert "rules.margin_runaway.warn_natz: unknown threshold" in str(e.value)
    syntax = _write(tmp_path / "s" / "rltui.toml", "[rules.margin_runaway\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        read_config(syntax)
