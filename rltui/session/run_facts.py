"""What a run's sources say about the run itself: config, length, logging interval, framework
hints and its model card, and the detection (trainer, framework) made from them.

Why apart from the reading: these facts come from any source (an event file's ``args`` text, a
console's progress counter, ``trainer_state.json``) in any order, and decide how the run is
labelled and which rules apply. Kept in one place, a start-over (the run folder deleted and
created again) forgets them all at once, and detection is re-run only when one of them changed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from rltui.model.snapshot import Framework, RunInfo
from rltui.model.store import MetricStore
from rltui.records import ReadResult
from rltui.session import ingest_policy as policy
from rltui.sources.detect import Detection, detect, parse_config, read_model_card
from rltui.sources.discovery import DiscoveredRun
from rltui.sources.fs import FileSystem

#: Text summary tags whose JSON is the run's config.
CONFIG_TEXT_TAGS = ("args/text_summary", "args")


class RunFacts:
    """The run's facts as read so far, and the :class:`RunInfo` / :class:`Detection` from them."""

    def __init__(self, run: DiscoveredRun) -> None:
        self.run = run
        self.card_path = run.model_card or (None if run.single_file else os.path.join(run.root, "README.md"))
        self.reset()

    def reset(self) -> None:
        """Forget everything read (a fresh run in the same folder)."""
        self.config: dict[str, object] = {}
        self.max_steps: int | None = None
        self.max_steps_from_state = False
        self.framework_hint: Framework | None = None
        self.trainer_hint: str | None = None
        self.logging_steps: int | None = None
        self.detect_key: tuple[object, ...] | None = None
        self.detection = Detection()
        self.card_sig: tuple[int, int] | None = None
        self.card_text: str | None = None
        self.info = RunInfo(name=self.run.name, path=self.run.root)

    def take(self, kind: str, res: ReadResult) -> None:
        """What one read says about the run (config texts, announcements, length, interval)."""
        for tag in CONFIG_TEXT_TAGS:
            text = res.texts.get(tag)
            if text:
                parsed = parse_config(text)
                if parsed is not None:
                    self.config = parsed
        self.framework_hint = policy.framework_announced(
            res.texts.get("rltui/framework"), self.framework_hint
        )
        self.trainer_hint = res.texts.get("rltui/trainer") or self.trainer_hint
        self.max_steps, self.max_steps_from_state = policy.max_steps_after(
            kind, res.max_steps, self.max_steps, self.max_steps_from_state
        )
        if res.logging_steps is not None and res.logging_steps > 0:
            self.logging_steps = res.logging_steps

    def known_logging_steps(self) -> int | None:
        """The run's ``logging_steps``: as a source said it, else from the config (then kept)."""
        if self.logging_steps is None and self.config:
            self.logging_steps = policy.logging_steps_from_config(self.config, self.max_steps)
        return self.logging_steps

    def card(self, fs: FileSystem) -> str | None:
        path = self.card_path
        if path is None:
            return None
        try:
            st = fs.stat(path)
        except OSError:
            self.card_sig = None
            self.card_text = None
            return None
        sig = (st.mtime_ns, st.size)
        if sig != self.card_sig:
            self.card_sig = sig
            self.card_text = read_model_card(path, fs)
        return self.card_text

    def update(self, fs: FileSystem, store: MetricStore, files: Sequence[str], n_followed: int) -> bool:
        """Re-detect when a fact changed; True when :attr:`info` is a new value."""
        card = self.card(fs)
        names = store.names()
        key = (
            self.card_sig,
            id(self.config),
            len(self.config),
            tuple(names),
            self.max_steps,
            self.logging_steps,
            self.framework_hint,
            n_followed,
        )
        if key == self.detect_key:
            return False
        self.detect_key = key
        self.detection = detect(
            card,
            self.config or None,
            names,
            files=list(files),
            hint=self.framework_hint,
            trainer_hint=self.trainer_hint,
            first=first_values(store, ("rewards/chosen", "rewards/rejected")),
        )
        max_steps = self.max_steps or policy.positive_int(self.config.get("max_steps"))
        logging_steps = self.logging_steps or policy.logging_steps_from_config(self.config, max_steps)
        info = RunInfo(
            name=self.run.name,
            path=self.run.root,
            framework=self.detection.framework,
            trainer=self.detection.trainer,
            max_steps=max_steps,
            logging_steps=logging_steps,
            config=dict(self.config),
        )
        if info == self.info:
            return False
        self.info = info
        return True


def first_values(store: MetricStore, names: Sequence[str]) -> dict[str, float]:
    """The first finite value of each series among its first 8 points (a DPO/KTO hint)."""
    out: dict[str, float] = {}
    for name in names:
        s = store.get(name)
        if s is None:
            continue
        vals = s.values[: min(len(s.values), 8)]
        finite = vals[np.isfinite(vals)]
        if len(finite):
            out[name] = float(finite[0])
    return out
