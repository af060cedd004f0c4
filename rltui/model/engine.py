"""The model's front door: store + instruments + patterns -> :class:`RunSnapshot`.

SKELETON: wired by the lead once instruments and patterns land. Contract:

    model = RunModel(info, store, config)
    snap = model.snapshot(at_step=None, sources=(), problems=())

``at_step`` evaluates the run as if it had only reached that step (the path replay and
``check --at-step`` share). Patterns advance incrementally; asking for an earlier step rebuilds.
"""
