"""Memory per stored point after loading the 600k-scalar benchmark run (design.md §7: <= 32 B).

Reports the store's own array bytes per point (what the target is about) and, for context, the
process's resident-set growth over the load (which also counts numpy/protobuf imports and the
reader's transient buffers).
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default=os.path.join(HERE, "data", "trl_30x20000"))
    args = ap.parse_args()
    if not glob.glob(os.path.join(args.run, "events.out.tfevents.*")):
        print(f"no event file under {args.run}: run benchmarks/gen_tfevents.py first", file=sys.stderr)
        return 2
    import numpy  # noqa: F401  (imported before the baseline so it is not counted as data)

    from rltui.session import open_sessions

    before = _rss_mb()
    (session,) = open_sessions([args.run])
    session.load()
    after = _rss_mb()
    store = session.store
    points = store.points
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"points stored: {points:,} in {len(store.names())} series")
    print(f"store arrays: {store.nbytes() / points:.1f} bytes/point (target <= 32)")
    growth = after - before
    print(f"process RSS growth over the load: {growth:.1f} MB ({growth * 2**20 / points:.0f} B/point)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
