"""Wiring: one followed run = its discovered files, their readers, a metric store and the model.

SKELETON: owned by the ingest work. Contract used by ``check`` and the UI:

    sessions = open_sessions(paths, tmux=None)   # list[RunSession]; raises NoRunError with a clear message
    s.poll() -> int                              # read every followed file from its offset; new points
    s.rescan() -> None                           # pick up files that appeared (new event file, checkpoint)
    s.info -> RunInfo                            # detection result (trainer, framework, max_steps, config)
    s.store -> MetricStore
    s.sources() -> tuple[SourceInfo, ...]        # per file: kind, path, points, problems
    s.problems -> list[Problem]                  # run-level problems
    s.watch_paths() -> list[str]                 # what watchfiles should watch
    s.snapshot(at_step=None) -> RunSnapshot      # via rltui.model.engine.RunModel

``find_sweep(path)`` returns the run folders under a sweep folder (for compare and watch).
"""
