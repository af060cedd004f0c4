"""Metrics from a training's console output: printed log dicts and verl ``step:N - k:v`` lines.

What trainers print (metrics.md §4.4, §6, §7):

* HF/TRL ``ProgressCallback``: ``str(logs)`` per log, e.g. ``{'loss': 0.6931, 'epoch': 0.05}``
  (transformers 4.x raw floats) or ``{'loss': '0.6931', 'epoch': '0.05634'}`` (5.x, ``.4g``
  strings), amid tqdm bars redrawn with ``\\r`` and ANSI cursor moves; a dict can follow a bar on
  the same physical line.
* verl's console logger: ``step:12 - actor/pg_loss:0.123 - timing_s/gen:np.float64(1.2)``.
* OpenRLHF: ``✨ Global step 12: {...}`` and ``... eval_metrics: {...}``.

Dicts are parsed by a small string-aware scanner (never ``eval``, not even ``literal_eval``): it
accepts Python reprs that ``literal_eval`` would reject (``nan``, ``inf``, ``np.float64(0.1)``,
``tensor(0.5)``) and turns everything that is not a number into "skip". Only a segment that
*starts* with a dict (after spaces, escape codes, a tqdm bar or one of the prefixes above) is a
candidate, so Rich tables of completions (``│ ... {'loss': 1} │``) and warnings that quote
``{braces}`` yield nothing.

Steps: HF dicts carry none, so they are inferred (:class:`ConsoleStepper`): the n-th *train*
dict (one with a key that is neither ``eval_*``, ``epoch`` nor an end-of-training total) gets
step ``n * logging_steps``; an eval dict (only ``eval_*`` keys and ``epoch``) and the
end-of-training summary (``train_runtime`` ...) take the step of the latest train dict. This
matches ``trainer_state.json`` for a run that started at step 0 and prints every log; a resumed
run's console restarts the count at 1 (use the event file or trainer_state for those). verl and
OpenRLHF lines carry their step and set it explicitly.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources._lines import LineFollower
from rltui.sources.fs import FileSystem
from rltui.text import decode, sanitize, strip_escapes

MAX_DICT_CHARS = 64 * 1024
MAX_KEY_CHARS = 256
MAX_PREFIX_CHARS = 4096  # a tqdm bar or a logger prefix before a dict is far shorter
MAX_PROBLEMS = 1000
STEP_LIMIT = 1 << 63  # steps are stored as int64

SUMMARY_KEYS = frozenset(
    {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"}
)

_DICT_OPEN = re.compile(r"\{\s*['\"]")
# The tail of a tqdm bar, e.g. " 39%|███▉      | 59/150 [00:04<00:06, 13.24it/s]".
_TQDM_TAIL = re.compile(r"\d+/\d+\s*\[[^\]]*\]\s*$")
_GLOBAL_STEP = re.compile(r"Global step\s+(\d+)\s*:\s*$")
_EVAL_METRICS = re.compile(r"eval_metrics\s*:\s*$")
# verl: "step:12 - a:1 - b:2", possibly behind a Ray prefix "(TaskRunner pid=42) ".
_VERL = re.compile(r"\s*(?:\([^()]{0,200}\)\s*)?step:\s*(\d+)\s+-\s+(.*)")
_VERL_KEY = re.compile(r"[^\s:'\"{}\[\]()]+")
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf(?:inity)?)",
    re.IGNORECASE,
)
# np.float64(0.1), numpy.float32(1.5), float(...), tensor(0.5, device='cuda:0')
_WRAPPED = re.compile(
    r"(?:(?:np|numpy|torch)\.)?(?:float|int|uint|bfloat)\d*\(\s*([^(),]*?)\s*\)"
    r"|tensor\(\s*([^(),]*?)\s*(?:,[^()]*)?\)"
)
_QUOTED_KEY = re.compile(r"'([^'\\]*)'|\"([^\"\\]*)\"")
_OPENERS = {"{": "}", "[": "]", "(": ")"}


def to_float(text: str) -> float | None:
    """The number a printed value stands for, or None (bool, None, text, lists...).

    Accepts raw numbers, quoted numeric strings (transformers 5), ``nan``/``inf`` in any case,
    and numpy/torch scalar reprs. Strict on purpose: ``float()`` alone would take ``"1_0"``.
    """
    t = text.strip()
    if len(t) > 200:  # no number is that long; also keeps the regexes below linear
        return None
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        t = t[1:-1].strip()
    m = _WRAPPED.fullmatch(t)
    if m:
        t = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
            t = t[1:-1].strip()
    if len(t) > 64 or not _NUMBER.fullmatch(t):
        return None
    try:
        return float(t)
    except ValueError:  # pragma: no cover - the regex admits only what float() takes
        return None


def _string_end(s: str, i: int) -> int:
    """Index just past the string literal that starts at ``s[i]``, or -1 if it does not end."""
    q = s[i]
    j = i + 1
    while True:
        j = s.find(q, j)
        if j < 0:
            return -1
        k = j - 1
        while s[k] == "\\":
            k -= 1
        if (j - 1 - k) % 2 == 0:  # an even number of backslashes: the quote is not escaped
            return j + 1
        j += 1


def split_dict(s: str, i: int) -> tuple[list[tuple[str, str]], int] | None:
    """Split the dict repr starting at ``s[i] == '{'`` into (key text, value text) pairs.

    Returns the pairs and the index just past the closing brace, or None when the text is not a
    well-formed dict (unbalanced brackets, unterminated string, an item without a colon).
    """
    stack: list[str] = []
    items: list[tuple[str, str]] = []
    item_start = i + 1
    colon = -1
    j = i
    n = len(s)
    while j < n:
        c = s[j]
        if c == "'" or c == '"':
            end = _string_end(s, j)
            if end < 0:
                return None
            j = end
            continue
        if c in _OPENERS:
            stack.append(_OPENERS[c])
        elif c in "}])":
            if not stack or stack.pop() != c:
                return None
            if not stack:
                if colon >= 0:
                    items.append((s[item_start:colon].strip(), s[colon + 1 : j].strip()))
                elif s[item_start:j].strip():
                    return None
                return items, j + 1
        elif len(stack) == 1:
            if c == ":" and colon < 0:
                colon = j
            elif c == ",":
                if colon < 0:
                    return None
                items.append((s[item_start:colon].strip(), s[colon + 1 : j].strip()))
                item_start = j + 1
                colon = -1
        j += 1
    return None


@dataclass(slots=True)
class ParsedLine:
    """The metrics found on one console line.

    ``kind`` is "train", "eval" or "summary" for step-less dicts; ``step`` is set when the line
    says its step (verl, OpenRLHF).
    """

    metrics: dict[str, float]
    kind: str
    step: int | None = None


def clean_key(raw: str) -> str | None:
    """A metric name from a run made safe to show (no escapes or controls), or None if unusable."""
    key = sanitize(raw, single_line=True).strip()
    if not key or len(key) > MAX_KEY_CHARS:
        return None
    return key


def _dict_metrics(pairs: list[tuple[str, str]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key_text, value_text in pairs:
        m = _QUOTED_KEY.fullmatch(key_text)
        if not m:
            continue
        key = clean_key(m.group(1) if m.group(1) is not None else m.group(2))
        if key is None:
            continue
        value = to_float(value_text)
        if value is not None:
            out[key] = value
    return out


def _classify(metrics: dict[str, float]) -> str:
    plain = [k for k in metrics if not k.startswith("eval_") and k != "epoch"]
    if not plain:
        return "eval" if len(metrics) > ("epoch" in metrics) else "summary"
    if "train_runtime" in metrics or all(k in SUMMARY_KEYS for k in plain):
        return "summary"
    return "train"


class LineError(ValueError):
    """A line that looks like a metrics line but cannot be read (reported, never raised out)."""


def parse_line(line: str) -> ParsedLine | None:
    """Metrics on one console line (no ``\\r``/``\\n`` inside), or None for other lines.

    Raises :class:`LineError` for a line that starts like a log dict but is malformed, so that
    the caller can report it; any other text returns None.
    """
    if "{" not in line and "step:" not in line:
        return None
    text = strip_escapes(line)
    m = _DICT_OPEN.search(text)
    if m is not None:
        prefix = text[: m.start()]
        if len(prefix) > MAX_PREFIX_CHARS:
            return None
        step: int | None = None
        eval_prefix = False
        if prefix.strip():
            g = _GLOBAL_STEP.search(prefix)
            if g is not None:
                step = int(g.group(1))
            elif _EVAL_METRICS.search(prefix):
                eval_prefix = True
            elif not _TQDM_TAIL.search(prefix):
                return None
        if len(text) - m.start() > MAX_DICT_CHARS:
            raise LineError(f"log dict longer than {MAX_DICT_CHARS} characters skipped")
        split = split_dict(text, m.start())
        if split is None:
            raise LineError("malformed log dict skipped")
        pairs, end = split
        if text[end:].strip():
            return None  # a dict followed by more text is a message, not a log
        metrics = _dict_metrics(pairs)
        if not metrics:
            return None
        kind = "eval" if eval_prefix else _classify(metrics)
        return ParsedLine(metrics, kind, step)
    v = _VERL.match(text)
    if v is None:
        return None
    metrics = {}
    for part in v.group(2).split(" - "):
        key_text, sep, value_text = part.partition(":")
        key_text = key_text.strip()
        if not sep or not _VERL_KEY.fullmatch(key_text):
            continue
        key = clean_key(key_text)
        value = to_float(value_text)
        if key is not None and value is not None:
            metrics[key] = value
    if not metrics:
        return None
    return ParsedLine(metrics, "train", int(v.group(1)))


class ConsoleStepper:
    """Assigns steps to parsed lines (see the module docstring for the inference rule)."""

    def __init__(self, logging_steps: int = 1) -> None:
        self.logging_steps = max(1, int(logging_steps))
        self.train_count = 0
        self.last_step = 0

    def step_of(self, parsed: ParsedLine) -> int:
        if parsed.step is not None:
            self.last_step = parsed.step
            if parsed.kind == "train":
                self.train_count = parsed.step // self.logging_steps
        elif parsed.kind == "train":
            self.train_count += 1
            self.last_step = self.train_count * self.logging_steps
        return self.last_step


class ConsoleParser:
    """Line parsing + step inference + problem bookkeeping shared by the console and tmux readers."""

    def __init__(self, path: str, logging_steps: int = 1) -> None:
        self.path = path
        self.stepper = ConsoleStepper(logging_steps)
        self.problems: list[Problem] = []
        self._seen: set[tuple[int | None, str]] = set()
        self.points = 0

    def reset(self) -> None:
        self.stepper = ConsoleStepper(self.stepper.logging_steps)
        self.points = 0

    def report(self, problem: Problem, out: list[Problem], *, dedupe: bool = True) -> None:
        """Record a problem once (``dedupe=False`` for file-level transitions, already one each)."""
        key = (problem.offset, problem.message)
        if (dedupe and key in self._seen) or len(self.problems) >= MAX_PROBLEMS:
            return
        self._seen.add(key)
        self.problems.append(problem)
        out.append(problem)

    def feed(self, offset: int | None, line: str, wall_time: float, builder: ChunkBuilder) -> list[Problem]:
        """Parse one line into ``builder``; return the problems it raised (already recorded)."""
        out: list[Problem] = []
        try:
            parsed = parse_line(line)
        except LineError as exc:
            self.report(Problem(self.path, offset, str(exc)), out)
            return out
        except (RecursionError, ValueError, OverflowError) as exc:  # defensive: never raise
            self.report(Problem(self.path, offset, f"unreadable line: {type(exc).__name__}"), out)
            return out
        if parsed is None:
            return out
        if parsed.step is not None and not 0 <= parsed.step < STEP_LIMIT:
            self.report(Problem(self.path, offset, f"step {str(parsed.step)[:24]} out of range, line skipped"), out)
            return out
        step = self.stepper.step_of(parsed)
        for key, value in parsed.metrics.items():
            builder.add(key, step, wall_time, value)
        self.points += len(parsed.metrics)
        return out


class ConsoleLogReader:
    """Follows a console log (``tee``'d stdout+stderr of a training) by byte offset.

    Problem offsets are **byte offsets** of the start of the offending line (a line ends at
    ``\\n`` or ``\\r``). Wall time: NaN for lines that were already in the file when it was first
    read (the log has no clock), ``time.time()`` at read for lines seen arriving later.
    ``points`` counts points emitted since the last (re)start of the file. ``logging_steps``
    scales the inferred steps (pass ``trainer_state.json``'s value when known); changing the
    attribute later affects only lines read afterwards.
    """

    kind: SourceKind = "console"

    def __init__(self, path: str, logging_steps: int = 1, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self._follower = LineFollower(path, split_cr=True, fs=fs)
        self._parser = ConsoleParser(path, logging_steps)

    @property
    def logging_steps(self) -> int:
        return self._parser.stepper.logging_steps

    @logging_steps.setter
    def logging_steps(self, value: int) -> None:
        self._parser.stepper.logging_steps = max(1, int(value))

    @property
    def points(self) -> int:
        return self._parser.points

    @property
    def problems(self) -> list[Problem]:
        return self._parser.problems

    def read(self) -> ReadResult:
        batch = self._follower.read()
        result = ReadResult(restarted=batch.restarted)
        for p in batch.problems:
            self._parser.report(p, result.problems, dedupe=False)
        if batch.restarted:
            self._parser.reset()
        wall = math.nan if batch.backlog else time.time()
        builder = ChunkBuilder()
        for offset, raw in batch.lines:
            builder.offset = offset
            result.problems += self._parser.feed(offset, decode(raw), wall, builder)
        result.chunks = builder.build()
        return result

    @property
    def healthy(self) -> bool:
        return self._follower.healthy

    def close(self) -> None:
        """Nothing to release: the file is opened only for the duration of each read."""
