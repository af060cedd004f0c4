"""Generations logged as TensorBoard text summaries (verl ``val/generations``) become samples.

The pages are built the way verl's ``ValidationGenerationsLogger.log_generations_to_tensorboard``
builds them (``verl/utils/tracking.py``: a Markdown page per validation step, passed to torch's
``SummaryWriter.add_text("val/generations", page, step)``, whose tag becomes
``val/generations/text_summary``); the event bytes come from tensorboard's own protobufs and
record writer (``_tfwriter``).
"""

from __future__ import annotations

from pathlib import Path

from rltui.sources.text_generations import is_generations_tag, parse_generations
from rltui.sources.tfevents import TfEventsReader
from tests.sources._tfwriter import record, scalar_event, text_event, version_event

TAG = "val/generations/text_summary"


def verl_page(step: int, samples: list[tuple[str, str, float]], gt: bool = False) -> str:
    """verl's page: ``**Generation Results - Step N**``, then one section per sample."""
    text = f"**Generation Results - Step {step}**\n\n"
    for i, (inp, out, score) in enumerate(samples):
        text += f"### Sample {i + 1}\n"
        text += f"**Input:** {inp}\n\n"
        text += f"**Output:** {out}\n\n"
        text += f"**Score:** {score}\n\n"
        if gt:
            text += "**Ground Truth:** 42\n\n**Correct:** False\n\n"
        text += "---\n\n"
    return text


def event_file(path: Path, pages: list[tuple[int, str]], scalars: bool = True) -> None:
    parts = [record(version_event())]
    for step, page in pages:
        if scalars:
            parts.append(record(scalar_event("val-core/acc", 0.5, step)))
        parts.append(record(text_event(TAG, page, step)))
    with open(path, "ab") as fh:
        fh.write(b"".join(parts))


def test_a_verl_page_gives_its_samples_with_prompt_completion_and_score() -> None:
    page = verl_page(40, [("What is 6*7?", "Let me think.\n\nIt is 42.", 1.0), ("2+2?", "5", 0.0)], gt=True)
    got = parse_generations(page, 40)
    assert [(s.step, s.prompt, s.completion, s.reward) for s in got] == [
        (40, "What is 6*7?", "Let me think.\n\nIt is 42.", 1.0),
        (40, "2+2?", "5", 0.0),
    ]


def test_a_text_that_is_not_a_generations_page_gives_nothing() -> None:
    assert parse_generations("## Sample 1\nno fields here", 3) == []
    assert parse_generations('{"learning_rate": 1e-05}', 0) == []
    assert parse_generations(verl_page(1, [("p", "o", float("nan"))]), 1)[0].reward is None


def test_tags_that_name_generations() -> None:
    assert is_generations_tag(TAG)
    assert is_generations_tag("val/generations")
    assert not is_generations_tag("args/text_summary")
    assert not is_generations_tag("train/generation_length")


def test_the_reader_hands_over_each_steps_samples_once_as_the_file_grows(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    event_file(path, [(10, verl_page(10, [("p1", "a", 0.0), ("p2", "b", 1.0)]))])
    reader = TfEventsReader(str(path))
    first = reader.read()
    assert [(s.step, s.completion) for s in first.samples] == [(10, "a"), (10, "b")]
    assert first.points == 1  # the scalar is a point; the page is not
    event_file(path, [(20, verl_page(20, [("p1", "c", 1.0)]))], scalars=False)
    second = reader.read()
    assert [(s.step, s.completion, s.reward) for s in second.samples] == [(20, "c", 1.0)]
    assert reader.read().samples == []


def test_escape_sequences_in_a_generation_never_reach_the_sample(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host"
    hostile = "ok\x1b]0;pwned\x07 \x1b[31mred\x1b[0m [bold]markup[/bold]"
    event_file(path, [(5, verl_page(5, [("prompt\x1b[2J", hostile, 0.5)]))])
    (sample,) = TfEventsReader(str(path)).read().samples
    assert "\x1b" not in sample.completion
    assert "\x07" not in sample.completion
    assert "\x1b" not in sample.prompt
    # Markup is text: kept as written (the screen renders it literally, never as style).
    assert "[bold]markup[/bold]" in sample.completion


def test_a_run_with_generation_pages_has_sample_steps(tmp_path: Path) -> None:
    from rltui.session import open_sessions

    run = tmp_path / "run"
    run.mkdir()
    event_file(
        run / "events.out.tfevents.1.host",
        [
            (10, verl_page(10, [("q", "first answer", 0.0)])),
            (20, verl_page(20, [("q", "second answer", 1.0), ("r", "x", 0.0)])),
        ],
    )
    (session,) = open_sessions([str(run)])
    session.load()
    assert session.sample_steps() == [10, 20]
    step, samples = session.sample_step(None)
    assert step == 20
    assert [s.completion for s in samples] == ["second answer", "x"]
    step, samples = session.sample_step(15)
    assert (step, [s.completion for s in samples]) == (10, ["first answer"])
    # Validation generations are shown, not turned into training statistics for the rules.
    assert not any(name.startswith("samples/") for name in session.store.names())
