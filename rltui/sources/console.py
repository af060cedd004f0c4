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

The HF Trainer's start banner (``***** Running training *****``) says ``Num Epochs = E`` and
``Total optimization steps = T``. With both, the first step-less train dict's ``epoch`` tells
where that first log fell (``epoch x T / E``), which is ``logging_steps`` for a run that started
at step 0; when the epoch's two printed decimals pin it to within a tenth of itself, the count is
scaled by it and the steps are no guess (a run logged every 10 steps ends at step 170, not 16),
and each later dict's epoch puts it on that grid (a log line missing from a paste leaves a gap
instead of shifting every later step). ``T`` is also the run's ``max_steps``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from rltui.records import ChunkBuilder, PointChunk, Problem, ReadResult, SourceKind, concat_chunks
from rltui.sources._lines import LineBatch, LineFollower
from rltui.sources.fs import FileSystem
from rltui.text import decode, sanitize, strip_escapes

MAX_DICT_CHARS = 64 * 1024
#: Bytes of a console log handled per slice of one ``read()`` (see ConsoleLogReader.read).
SLICE_BYTES = 8 << 20
MAX_KEY_CHARS = 256
MAX_PREFIX_CHARS = 4096  # a tqdm bar or a logger prefix before a dict is far shorter
MAX_PROBLEMS = 1000
STEP_LIMIT = 1 << 63  # steps are stored as int64
_HUGE_STEP = re.compile(r"(?:\bstep:\s*|Global step\s+|\bIter\s+)\d{19}")

SUMMARY_KEYS = frozenset(
    {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"}
)

_DICT_OPEN = re.compile(r"\{\s*['\"]")
# The tail of a tqdm bar, e.g. " 39%|███▉      | 59/150 [00:04<00:06, 13.24it/s]".
_TQDM_TAIL = re.compile(r"(\d{1,18})/(\d{1,18})\s*\[[^\]]*\]\s*$")
#: ms-swift's counter inside its log dicts, ``'global_step/max_steps': '300/1296'``.
SWIFT_COUNTER = "global_step/max_steps"
_COUNTER = re.compile(r"\s*(\d{1,18})\s*/\s*(\d{1,18})\s*")
#: Progress and clock fields (LLaMA-Factory, ms-swift): derived from the step, never metrics.
PROGRESS_KEYS = frozenset({"percentage", "elapsed_time", "remaining_time", SWIFT_COUNTER})
#: MLX-LM: ``Iter 10: Train loss 2.345, Learning Rate 1.000e-05, It/sec 0.512, ...`` and
#: ``Iter 10: Val loss 2.876, Val took 12.3s``.
_MLX = re.compile(r"\s*Iter\s+(\d{1,18})\s*:\s*(Train|Val)\s+loss\s+(.*)$", re.IGNORECASE)
_MLX_FIELD = re.compile(r"\s*([A-Za-z][A-Za-z0-9_ /]*?)\s+([-+0-9.eE]+|nan|inf)\s*(?:[A-Za-z]{1,3})?\s*$")
_MLX_NAMES = {
    "chosen reward": "rewards/chosen",
    "rejected reward": "rewards/rejected",
    "accuracy": "rewards/accuracies",
    "margin": "rewards/margins",
    "learning rate": "learning_rate",
    "it/sec": "it_per_sec",
    "tokens/sec": "tokens_per_second",
    "trained tokens": "num_tokens",
    "peak mem": "peak_mem_gb",
    "val took": "eval_runtime",
    # MLX-LM-LoRA's GRPO trainer (``--training-mode grpo``); its Val fields use underscores.
    "total rewards mean": "reward",
    "total rewards std": "reward_total_std",
    "grouped rewards mean": "reward_grouped_mean",
    "grouped rewards std": "reward_std",
    "kl": "kl",
}
#: An MLX reward function's own mean/std (``r1_int_reward_func mean``): TRL's ``rewards/<f>/mean``.
_MLX_FUNC = re.compile(r"([a-z][a-z0-9_]{0,80}?)[ _](mean|std)")
_GLOBAL_STEP = re.compile(r"Global step\s+(\d{1,18})\s*:\s*$")
_EVAL_METRICS = re.compile(r"eval_metrics\s*:\s*$")
# verl: "step:12 - a:1 - b:2", possibly behind a Ray prefix "(TaskRunner pid=42) ".
_VERL = re.compile(r"\s*(?:\([^()]{0,200}\)\s*)?step:\s*(\d{1,18})\s+-\s+(.*?)(?:\s+-)?\s*$")
_VERL_KEY = re.compile(r"[^\s:'\"{}\[\]()]+")
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf(?:inity)?)",
    re.IGNORECASE,
)
_PLAIN_START = frozenset("0123456789+-.")
#: A flat log dict's body: quoted keys, values without brackets, commas or backslashes (every
#: HF/TRL log line). Split with two regexes instead of a walk over its characters.
#: A value: bare (no quotes, brackets, commas or backslashes) or one single-quoted string without
#: quotes or backslashes inside (transformers 5 prints every value as a string: '2.214e-20').
_FLAT_VALUE = r"(?:\s*'[^'\\\n]*'\s*|[^,'\"{}\[\]()\\]+)"  # the string first: findall takes it
_FLAT_BODY = re.compile(rf"(?:\s*'[^'\\\n]*'\s*:{_FLAT_VALUE},)*\s*'[^'\\\n]*'\s*:{_FLAT_VALUE}")
_FLAT_ITEM = re.compile(rf"\s*('[^'\\\n]*')\s*:({_FLAT_VALUE})")
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
    if t and t[0] in _PLAIN_START and len(t) <= 64 and _NUMBER.fullmatch(t):
        return float(t)  # a plain number (most values): no quotes or wrapper to look for
    if len(t) >= 3 and t[0] == t[-1] and t[0] in "'\"" and t[1] in _PLAIN_START:
        inner = t[1:-1]  # a quoted plain number (transformers 5 prints values as strings)
        if len(inner) <= 64 and _NUMBER.fullmatch(inner):
            return float(inner)
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


class _Incomplete(Exception):
    """The text ended inside the dict: a terminal hard-wrapped it, the rest is on the next line."""


def split_dict(s: str, i: int) -> tuple[list[tuple[str, str]], int] | None:
    """Split the dict repr starting at ``s[i] == '{'`` into (key text, value text) pairs.

    Returns the pairs and the index just past the closing brace, or None when the text is not a
    well-formed dict (unbalanced brackets, unterminated string, an item without a colon, or text
    that ends before the dict does).
    """
    try:
        return _split_dict(s, i)
    except _Incomplete:
        return None


def _split_flat(s: str, i: int) -> tuple[list[tuple[str, str]], int] | None:
    """The pairs of a flat dict (see ``_FLAT_BODY``) starting at ``s[i]``, as :func:`_split_dict`
    gives them, or None when the dict is not flat (then the walk decides)."""
    close = s.find("}", i + 1)
    if close < 0:
        return None
    body = s[i + 1 : close]
    if not _FLAT_BODY.fullmatch(body):
        return None
    pairs = [(k, v.strip()) for k, v in _FLAT_ITEM.findall(body)]
    if not all(v for _, v in pairs):
        return None  # an empty value: the walk reports it
    return pairs, close + 1


def _split_dict(s: str, i: int) -> tuple[list[tuple[str, str]], int] | None:
    """:func:`split_dict`, raising :class:`_Incomplete` when the text ends inside the dict."""
    flat = _split_flat(s, i)
    return flat if flat is not None else _walk_dict(s, i)


def _walk_dict(s: str, i: int) -> tuple[list[tuple[str, str]], int] | None:
    """The character walk behind :func:`_split_dict`: any dict, nested values and strings too."""
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
                raise _Incomplete
            j = end
            continue
        if c in _OPENERS:
            stack.append(_OPENERS[c])
        elif c in "}])":
            if not stack or stack.pop() != c:
                return None
            if not stack:
                if colon >= 0:
                    if not _item(items, s[item_start:colon], s[colon + 1 : j]):
                        return None
                elif s[item_start:j].strip():
                    return None
                return items, j + 1
        elif len(stack) == 1:
            if c == ":" and colon < 0:
                colon = j
            elif c == ",":
                if colon < 0 or not _item(items, s[item_start:colon], s[colon + 1 : j]):
                    return None
                item_start = j + 1
                colon = -1
        j += 1
    raise _Incomplete


def _item(items: list[tuple[str, str]], key: str, value: str) -> bool:
    """Append one ``key: value`` item; False for an empty key or value (no dict repr has one)."""
    k, v = key.strip(), value.strip()
    if not k or not v:
        return False
    items.append((k, v))
    return True


@dataclass(slots=True)
class ParsedLine:
    """The metrics found on one console line.

    ``kind`` is "train", "eval" or "summary" for step-less dicts; ``step`` is set when the line
    says its step (verl, OpenRLHF).
    """

    metrics: dict[str, float]
    kind: str
    step: int | None = None
    #: The run's length when the line says it (tqdm's ``59/150``, ms-swift's ``300/1296``).
    max_steps: int | None = None


class Incomplete(ValueError):
    """A log dict that the line ends inside of: the caller joins the next line and tries again."""


def clean_key(raw: str) -> str | None:
    """A metric name from a run made safe to show (no escapes or controls), or None if unusable.

    Every log line repeats the same keys: their cleaned names are remembered (a bounded cache)."""
    try:
        return _CLEAN_KEYS[raw]
    except KeyError:
        pass
    key: str | None = sanitize(raw, single_line=True).strip()
    if not key or len(key) > MAX_KEY_CHARS:
        key = None
    if len(_CLEAN_KEYS) >= _CLEAN_KEYS_MAX:
        _CLEAN_KEYS.clear()
    _CLEAN_KEYS[raw] = key
    return key


_CLEAN_KEYS: dict[str, str | None] = {}
_CLEAN_KEYS_MAX = 4096


#: Every value of a dict a plain number (what to_float's first branch takes): one scan of the
#: values joined by NULs instead of a regex call per value.
_PLAIN = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PLAIN_VALUES = re.compile(rf"(?:{_PLAIN}\x00)*{_PLAIN}")


def _dict_metrics(pairs: list[tuple[str, str]]) -> tuple[dict[str, float], tuple[int, int] | None]:
    """The numeric items of a printed dict, and ms-swift's (step, max_steps) counter if present."""
    key_texts = tuple(k for k, _ in pairs)
    plan = _key_plan(key_texts)
    if SWIFT_COUNTER not in plan:
        # The common line: every value a plain number. The same floats as to_float gives each.
        values = [v for _, v in pairs]
        if max(map(len, values)) <= 64 and _PLAIN_VALUES.fullmatch("\x00".join(values)):
            try:
                floats = list(map(float, values))
            except ValueError:  # a NUL inside a value: the one-by-one path below decides
                pass
            else:
                kept = zip(plan, floats, strict=True)
                return {key: x for key, x in kept if key is not None and key not in PROGRESS_KEYS}, None
    return _dict_metrics_each(plan, pairs)


def _dict_metrics_each(
    plan: tuple[str | None, ...], pairs: list[tuple[str, str]]
) -> tuple[dict[str, float], tuple[int, int] | None]:
    """:func:`_dict_metrics` value by value (any value; the reference of its fast path)."""
    out: dict[str, float] = {}
    counter: tuple[int, int] | None = None
    for key, (_, value_text) in zip(plan, pairs, strict=True):
        if key is None:
            continue
        if key in PROGRESS_KEYS:
            if key == SWIFT_COUNTER:
                c = _COUNTER.fullmatch(value_text.strip().strip("'\""))
                counter = (int(c.group(1)), int(c.group(2))) if c else None
            continue
        value = to_float(value_text)
        if value is not None:
            out[key] = value
    return out, counter


def _key_plan(key_texts: tuple[str, ...]) -> tuple[str | None, ...]:
    """Per key text of a dict, its metric name (None: not a quoted, usable key). Log dicts repeat
    the same keys line after line, so the plan is remembered per key tuple (a bounded cache)."""
    plan = _KEY_PLANS.get(key_texts)
    if plan is None:
        names: list[str | None] = []
        for key_text in key_texts:
            m = _QUOTED_KEY.fullmatch(key_text)
            names.append(clean_key(m.group(1) if m.group(1) is not None else m.group(2)) if m else None)
        plan = tuple(names)
        if len(_KEY_PLANS) >= _KEY_PLANS_MAX:
            _KEY_PLANS.clear()
        _KEY_PLANS[key_texts] = plan
    return plan


_KEY_PLANS: dict[tuple[str, ...], tuple[str | None, ...]] = {}
_KEY_PLANS_MAX = 1024


def parse_mlx(text: str) -> ParsedLine | None:
    """An MLX-LM ``Iter N: Train loss ...`` / ``Iter N: Val loss ...`` line, or None."""
    m = _MLX.match(text)
    if m is None:
        return None
    step, train = int(m.group(1)), m.group(2).lower() == "train"
    fields = m.group(3).split(",")
    first = to_float(fields[0].strip().split()[0]) if fields[0].strip() else None
    if first is None:
        return None
    metrics = {"loss" if train else "eval_loss": first}
    for part in fields[1:]:
        f = _MLX_FIELD.fullmatch(part)
        if f is None:
            continue
        label = f.group(1).strip().lower()
        val = label.startswith("val ") and label != "val took"
        bare = label[4:] if val else label
        name = _MLX_NAMES.get(bare) or _MLX_NAMES.get(bare.replace("_", " "))
        func = _MLX_FUNC.fullmatch(bare) if name is None else None
        if func is not None:
            name = f"rewards/{func.group(1)}/{func.group(2)}"
        value = to_float(f.group(2))
        if name is not None and value is not None:
            metrics[f"eval_{name}" if val and not name.startswith("eval_") else name] = value
    return ParsedLine(metrics, "train" if train else "eval", step)


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
    if "{" not in line and "step:" not in line and "ter" not in line:
        return None
    text = strip_escapes(line)
    m = _DICT_OPEN.search(text)
    if m is not None:
        prefix = text[: m.start()]
        if len(prefix) > MAX_PREFIX_CHARS:
            return None
        step: int | None = None
        bar: tuple[int, int] | None = None
        eval_prefix = False
        if prefix.strip():
            g = _GLOBAL_STEP.search(prefix)
            tq = _TQDM_TAIL.search(prefix)
            if g is not None:
                step = int(g.group(1))
            elif _EVAL_METRICS.search(prefix):
                eval_prefix = True
            elif tq is not None:
                bar = (int(tq.group(1)), int(tq.group(2)))
            else:
                return None
        if len(text) - m.start() > MAX_DICT_CHARS:
            raise LineError(f"log dict longer than {MAX_DICT_CHARS} characters skipped")
        try:
            split = _split_dict(text, m.start())
        except _Incomplete:
            raise Incomplete("log dict continues on the next line") from None
        if split is None:
            raise LineError("malformed log dict skipped")
        pairs, end = split
        if text[end:].strip():
            return None  # a dict followed by more text is a message, not a log
        metrics, counter = _dict_metrics(pairs)
        if not metrics:
            return None
        kind = "eval" if eval_prefix else _classify(metrics)
        max_steps: int | None = None
        if counter is not None:
            step, max_steps = counter
        elif bar is not None and kind == "train" and 0 < bar[0] <= bar[1]:
            # HF's ProgressCallback prints the dict right after moving the bar to global_step.
            step, max_steps = bar
        return ParsedLine(metrics, kind, step, max_steps)
    mlx = parse_mlx(text) if "Iter" in text or "iter" in text else None
    if mlx is not None:
        return mlx
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


_BANNER = re.compile(r"\b(Num Epochs|Total optimization steps) = ([\d,]{1,24})\s*$")
#: HF rounds the logged epoch to 2 decimals (``round(epoch, 2)`` in ``Trainer.log``).
EPOCH_RESOLUTION = 0.005


class ConsoleStepper:
    """Assigns steps to parsed lines (see the module docstring for the inference rule).

    ``guessed`` is True once a train line got a step by counting (no step on the line, and
    ``logging_steps`` only assumed): the session does not merge such points with a source whose
    steps are true.
    """

    def __init__(self, logging_steps: int = 1, *, known_scale: bool = False) -> None:
        self.logging_steps = max(1, int(logging_steps))
        self.known_scale = known_scale
        self.train_count = 0
        self.last_step = 0
        self.guessed = False
        #: From the HF start banner: ``Num Epochs`` and ``Total optimization steps``.
        self.num_epochs: int | None = None
        self.total_steps: int | None = None
        #: (logging_steps, known_scale) before the banner's epoch set them; None if it did not.
        self.assumed: tuple[int, bool] | None = None
        #: Optimisation steps per epoch once the banner set the scale: each dict's epoch then
        #: places it on the logging grid (a log line missing from a paste does not shift the rest).
        self.per_epoch: float | None = None

    def _scale_from_epoch(self, parsed: ParsedLine) -> None:
        """Before the first counted train dict: ``logging_steps`` from its epoch and the banner."""
        epoch = parsed.metrics.get("epoch")
        if self.known_scale or self.train_count or epoch is None:
            return
        if not self.num_epochs or not self.total_steps:
            return
        per_epoch = self.total_steps / self.num_epochs
        at = epoch * per_epoch
        if not math.isfinite(at) or at < 0.5 or at > self.total_steps:
            return
        if EPOCH_RESOLUTION * per_epoch <= 0.1 * at:
            self.assumed = (self.logging_steps, self.known_scale)
            self.logging_steps = max(1, round(at))
            self.known_scale = True
            self.per_epoch = per_epoch

    def step_of(self, parsed: ParsedLine) -> int:
        if parsed.step is None and parsed.kind == "train":
            self._scale_from_epoch(parsed)
        if parsed.step is not None:
            self.last_step = parsed.step
            if parsed.kind == "train":
                self.train_count = parsed.step // self.logging_steps
        elif parsed.kind == "train":
            epoch = parsed.metrics.get("epoch")
            n = self.train_count + 1
            if self.per_epoch is not None and epoch is not None and math.isfinite(epoch):
                on_grid = round(epoch * self.per_epoch / self.logging_steps)
                n = on_grid if self.train_count < on_grid < self.train_count + 1_000_000 else n
            self.train_count = n
            self.last_step = self.train_count * self.logging_steps
            if not self.known_scale:
                self.guessed = True
        return self.last_step


#: ``ReadResult.texts`` keys of a framework / trainer a console announced.
FRAMEWORK_TEXT = "rltui/framework"
TRAINER_TEXT = "rltui/trainer"
_STARTING = re.compile(
    r"\b(?:Starting (SFT|DPO|ORPO|KTO|CPO|GRPO|PPO|RLOO) training"
    r"|(SFT|DPO|ORPO|KTO|CPO|GRPO|PPO|RLOO) Training Log)\b",
    re.IGNORECASE,
)
#: A dict hard-wrapped by the terminal is joined with at most this many following lines.
MAX_WRAPPED_LINES = 40
_TABLE_SPLIT = re.compile(r"\t|\s*\|\s*| {2,}")
_TABLE_RULE = re.compile(r"[\s|:+-]*-[\s|:+-]*")


def _table_cells(line: str) -> list[str]:
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|"):
        text = text[:-1]
    return [c.strip() for c in _TABLE_SPLIT.split(text.strip())]


def _table_column(name: str, has_eval: bool) -> str | None:
    """A notebook table header cell -> the metric name it stands for (HF ``NotebookProgressCallback``).

    HF writes ``Step | Training Loss | Validation Loss | Rewards/chosen ...`` (eval metric names
    without ``eval_``, each ``_``-part capitalised); unsloth's tables show the raw training keys.
    """
    low = re.sub(r"\s*/\s*", "/", name.strip()).lower()
    if low in ("step", "epoch"):
        return low if low == "epoch" else None
    if low == "training loss":
        return "loss"
    if low == "validation loss":
        return "eval_loss"
    key = clean_key(re.sub(r"\s*/\s*", "/", name.strip()))
    if key is None:
        return None
    if any(c.isupper() for c in key) or " " in key:
        key = key.lower().replace(" ", "_")
    return f"eval_{key}" if has_eval else key


class _Table:
    """An HF notebook training table pasted as text: its columns, then one row per logged step."""

    def __init__(self, columns: list[str | None], max_cells: int) -> None:
        self.columns = columns
        self.max_cells = max_cells

    @staticmethod
    def header(line: str) -> _Table | None:
        if "Loss" not in line and "loss" not in line:
            return None
        cells = _table_cells(line)
        if len(cells) < 2 or cells[0].lower() != "step":
            return None
        if not any(c.lower() == "training loss" for c in cells):
            return None
        has_eval = any(c.lower() == "validation loss" for c in cells)
        return _Table([_table_column(c, has_eval) for c in cells[1:]], len(cells))

    def row(self, line: str) -> ParsedLine | bool | None:
        """The row's metrics; True for a rule line; None when the line is not a row (table ended)."""
        if _TABLE_RULE.fullmatch(line.strip()):
            return True
        cells = _table_cells(line)
        if not cells or not cells[0].isdecimal() or len(cells[0]) > 18 or len(cells) > self.max_cells:
            return None
        metrics: dict[str, float] = {}
        for name, cell in zip(self.columns, cells[1:], strict=False):
            value = to_float(cell) if name is not None else None
            if name is not None and value is not None:
                metrics[name] = value
        return ParsedLine(metrics, "train", int(cells[0])) if metrics else True


#: A line shorter than this was not wrapped by a terminal (the narrowest usable one is 60 wide).
MIN_WRAP_WIDTH = 60
_NEW_LINE_START = re.compile(r"\s*(?:\(|\{|\[|step:|Iter |\d+%|[A-Z][a-z]+:)")


_QUOTE = re.compile(r"(?:[ \t]*>[ \t]?)+")


def _unquote(line: str) -> str:
    """A log pasted as a Markdown quote (``> step:1 - ...``, a chat export) without the quote marks."""
    if line.startswith((">", " >")):
        m = _QUOTE.match(line)
        if m is not None:
            return line[m.end() :]
    return line


def _continues_verl(previous: str, line: str) -> bool:
    """Whether ``line`` is the wrapped rest of the long ``step:N - ...`` line before it.

    A terminal wraps at a fixed column, mid-token, with nothing added: the rest starts with no
    prefix of its own (no Ray ``(TaskRunner pid=...)``, no dict, no bar) and is either another
    full-width row or the last, shorter one.
    """
    if not line.strip() or _NEW_LINE_START.match(line):
        return False
    return len(line) <= len(previous) and ":" in line


class ConsoleParser:
    """Line parsing + step inference + problem bookkeeping shared by the console and tmux readers.

    Beyond single lines it joins a log dict that the terminal hard-wrapped over several lines
    (joined without a separator: a wrap cuts at a column, mid-token), and follows an HF notebook
    table (``Step | Training Loss | ...``) from its header through its rows.
    """

    def __init__(self, path: str, logging_steps: int = 1, *, known_scale: bool = False) -> None:
        self.path = path
        self.stepper = ConsoleStepper(logging_steps, known_scale=known_scale)
        self.problems: list[Problem] = []
        self._seen: set[tuple[int | None, str]] = set()
        self.points = 0
        self.max_steps: int | None = None
        self._wrapped: tuple[int | None, str, int] | None = None  # (offset, text so far, lines)
        self._table: _Table | None = None
        #: Recent step-less train dicts (see :meth:`_reprinted`), oldest first.
        self._recent: dict[tuple[tuple[str, float], ...], None] = {}
        #: The last long ``step:N - k:v`` line (and its step): a terminal may have wrapped it.
        self._verl_tail: tuple[str, int, dict[str, float]] | None = None
        #: A framework that announced itself on the console ("🦥 Unsloth: Will patch ...").
        self.framework_hint: str | None = None
        #: A trainer the console named ("Starting ORPO training..." in MLX-LM-LoRA).
        self.trainer_hint: str | None = None

    @property
    def steps_guessed(self) -> bool:
        return self.stepper.guessed

    def reset(self) -> None:
        # A scale read off the old banner is not the new run's (the file started over).
        scale = self.stepper.assumed or (self.stepper.logging_steps, self.stepper.known_scale)
        self.stepper = ConsoleStepper(scale[0], known_scale=scale[1])
        self.points = 0
        self.max_steps = None
        self._wrapped = None
        self._table = None
        self._verl_tail = None
        self._recent = {}

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
        line = _unquote(line)
        if self.framework_hint is None and "Unsloth" in line:
            self.framework_hint = "unsloth"
        if self.framework_hint is None and "Iter" in line and _MLX.match(strip_escapes(line)):
            self.framework_hint = "mlx"  # MLX-LM's own report line; no other trainer prints it
        if self.trainer_hint is None and "raining" in line:
            m = _STARTING.search(line)
            if m is not None:
                self.trainer_hint = (m.group(1) or m.group(2)).lower()
        if " = " in line and ("Num Epochs" in line or "Total optimization" in line):
            self._banner(strip_escapes(line).rstrip())
        if self._table is not None:
            row = self._table.row(strip_escapes(line))
            if row is True:
                return out
            if isinstance(row, ParsedLine):
                self._store(row, wall_time, builder)
                return out
            self._table = None
        if self._verl_tail is not None:
            tail = self._verl_tail
            self._verl_tail = None
            if _continues_verl(tail[0], line):
                joined = tail[0] + line
                parsed, problem = self._parse(joined)
                if problem is None and parsed is not None and parsed.step == tail[1]:
                    stored = tail[2]
                    # Only what the rest adds or completes (a value cut mid-digits) is stored again.
                    added = {k: v for k, v in parsed.metrics.items() if stored.get(k) != v}
                    self._store(ParsedLine(added, parsed.kind, parsed.step), wall_time, builder, count=False)
                    self._verl_tail = (joined, tail[1], {**stored, **added})
                    return out
        if self._wrapped is not None:
            start, text, count = self._wrapped
            self._wrapped = None
            joined = text + line
            fresh = _DICT_OPEN.match(strip_escapes(line).lstrip()) is not None
            if not fresh and count < MAX_WRAPPED_LINES and len(joined) <= MAX_DICT_CHARS:
                parsed, problem = self._parse(joined)
                if problem == "incomplete":
                    self._wrapped = (start, joined, count + 1)
                    return out
                if problem is None:
                    if parsed is not None:
                        self._store(parsed, wall_time, builder)
                    return out
            self.report(Problem(self.path, start, "log dict cut off: it never closed"), out)
        table = _Table.header(strip_escapes(line)) if "|" in line or "\t" in line or "  " in line else None
        if table is not None:
            self._table = table
            return out
        parsed, problem = self._parse(line)
        if problem == "incomplete":
            self._wrapped = (offset, line, 1)
        elif problem is not None:
            self.report(Problem(self.path, offset, problem), out)
        elif parsed is not None:
            self._store(parsed, wall_time, builder)
            if parsed.step is not None and " - " in line and len(line) >= MIN_WRAP_WIDTH:
                self._verl_tail = (line, parsed.step, dict(parsed.metrics))
        return out

    def _banner(self, line: str) -> None:
        """The HF Trainer's start banner: epochs and the run's length (see the module docstring)."""
        m = _BANNER.search(line)
        if m is None:
            return
        value = int(m.group(2).replace(",", "") or 0)
        if not 0 < value < STEP_LIMIT:
            return
        if m.group(1) == "Num Epochs":
            self.stepper.num_epochs = value
        else:
            self.stepper.total_steps = value
            self.max_steps = value

    def _reprinted(self, parsed: ParsedLine) -> bool:
        """A step-less train dict seen before, ``epoch`` included: a terminal redrew or a paste repeated it.

        Every HF log dict carries the epoch, which grows with each log, so the same dict twice is the
        same log printed twice, not a new step (counting it would shift every later step).
        """
        if parsed.step is not None or parsed.kind != "train" or "epoch" not in parsed.metrics:
            return False
        key = tuple(sorted(parsed.metrics.items()))
        if key in self._recent:
            return True
        self._recent[key] = None
        if len(self._recent) > 512:
            del self._recent[next(iter(self._recent))]
        return False

    @staticmethod
    def _parse(line: str) -> tuple[ParsedLine | None, str | None]:
        """(parsed line or None, problem text or None); problem "incomplete": the dict goes on."""
        try:
            parsed = parse_line(line)
            if parsed is not None and parsed.step is not None and not 0 <= parsed.step < STEP_LIMIT:
                return None, f"step {str(parsed.step)[:24]} out of range, line skipped"
            if (
                parsed is None and ("step" in line or "Iter" in line) and _HUGE_STEP.search(line)
            ):  # a metrics line, but no step fits int64
                return None, "step with more than 18 digits, line skipped"
            return parsed, None
        except Incomplete:
            return None, "incomplete"
        except LineError as exc:
            return None, str(exc)
        except (RecursionError, ValueError, OverflowError) as exc:  # defensive: never raise
            return None, f"unreadable line: {type(exc).__name__}"

    def _store(
        self, parsed: ParsedLine, wall_time: float, builder: ChunkBuilder, *, count: bool = True
    ) -> None:
        """Add a parsed line's points; ``count=False`` re-states a line joined with its wrapped rest."""
        if count and self._reprinted(parsed):
            return
        step = self.stepper.step_of(parsed) if count else self.stepper.last_step
        if parsed.max_steps is not None and parsed.max_steps > 0:
            self.max_steps = max(self.max_steps or 0, parsed.max_steps)
        builder.add_line(step, wall_time, parsed.metrics)
        self.points += len(parsed.metrics)


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

    def __init__(
        self,
        path: str,
        logging_steps: int | None = 1,
        *,
        known_scale: bool = False,
        fs: FileSystem | None = None,
    ) -> None:
        self.path = path
        self._follower = LineFollower(path, split_cr=True, fs=fs)
        self._parser = ConsoleParser(path, logging_steps or 1, known_scale=known_scale)
        self._stash: LineBatch | None = None

    @property
    def logging_steps(self) -> int:
        return self._parser.stepper.logging_steps

    @logging_steps.setter
    def logging_steps(self, value: int) -> None:
        self._parser.stepper.logging_steps = max(1, int(value))
        self._parser.stepper.known_scale = True

    @property
    def steps_guessed(self) -> bool:
        """Whether some point's step was counted with an assumed ``logging_steps`` (see ConsoleStepper)."""
        return self._parser.steps_guessed

    @property
    def points(self) -> int:
        return self._parser.points

    @property
    def problems(self) -> list[Problem]:
        return self._parser.problems

    def read(self) -> ReadResult:
        """Everything written since the last call, read ``SLICE_BYTES`` at a time: the text held
        at once is one slice (and the longest line), never the whole file; points are kept as
        numpy columns per slice (32 bytes each), not as Python lists of the whole file."""
        batch = self._stash or self._follower.read(SLICE_BYTES)
        self._stash = None
        result = ReadResult(restarted=batch.restarted)
        if batch.restarted:
            self._parser.reset()
        wall = math.nan if batch.backlog else time.time()
        parts: dict[str, list[PointChunk]] = {}
        line_problems: list[Problem] = []
        while True:
            for p in batch.problems:
                self._parser.report(p, result.problems, dedupe=False)
            builder = ChunkBuilder()
            for offset, raw in batch.lines:
                builder.offset = offset
                line_problems += self._parser.feed(offset, decode(raw), wall, builder)
            for key, chunk in builder.build().items():
                parts.setdefault(key, []).append(chunk)
            if not batch.more:
                break
            batch = self._follower.read(SLICE_BYTES)
            if batch.restarted:  # replaced between two slices: the next read() starts it over
                self._stash = batch
                break
        result.problems += line_problems
        result.chunks = {key: concat_chunks(chunks) for key, chunks in parts.items()}
        result.max_steps = self._parser.max_steps
        if self._parser.framework_hint:
            result.texts[FRAMEWORK_TEXT] = self._parser.framework_hint
        if self._parser.trainer_hint:
            result.texts[TRAINER_TEXT] = self._parser.trainer_hint
        return result

    @property
    def healthy(self) -> bool:
        return self._follower.healthy

    def close(self) -> None:
        """Nothing to release: the file is opened only for the duration of each read."""
