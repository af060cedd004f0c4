"""Run blocking work off the event loop in a thread that never holds up quitting.

``asyncio.to_thread`` uses the loop's default executor, whose threads the interpreter joins at
exit: a reader stuck on a slow disk, a huge file or a hung network mount would keep ``q`` from
ending the process. Each call here runs in its own *daemon* thread instead; when the app quits,
the process ends and an unfinished read is simply abandoned (nothing is written anywhere, so
nothing is lost). The result is delivered back on the loop; a loop that has closed is not
disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def _settle(fut: asyncio.Future[R], value: R | None, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)  # type: ignore[arg-type]


async def off_loop(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``await off_loop(fn, ...)``: ``fn(...)`` in a daemon thread, its result or exception here."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[R] = loop.create_future()

    def target() -> None:
        value: R | None = None
        error: BaseException | None = None
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # delivered to the awaiting coroutine, never lost
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed: the app has quit
            loop.call_soon_threadsafe(_settle, fut, value, error)

    threading.Thread(target=target, name=f"rltui-{getattr(fn, '__name__', 'work')}", daemon=True).start()
    return await fut
