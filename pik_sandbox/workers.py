"""Several worker processes serving one sandbox (`pik-sandbox --workers N`).

The command builds the app once, which checks the database and brings its schema up to date,
closes the app's database connections and threads, and then forks the workers. Each inherits the
listening socket (the kernel hands every new connection to one of them), the rate limiters'
shared memory (see pik_sandbox.ratelimit) and a pipe, and serves with its own event loop and its
own SQLite connections: in WAL mode the workers read at once, and their writes take turns on the
file's lock as two sandboxes on one file would.

Worker 0 alone sends webhooks and expires links, so that no event goes out twice; any other
worker that makes a change which may put events in the outbox wakes it through the pipe, so a
payment's event leaves as soon as it would from a single process.

The parent only supervises: SIGINT or SIGTERM stops every worker cleanly (each finishes the
requests in flight and closes its database), and a worker that ends on its own stops the others,
after which the command exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any, Final

logger = logging.getLogger("pik_sandbox.workers")

_Handler = Callable[[int, FrameType | None], Any] | int | None

# Enough for any machine's cores; every worker opens its own connections and threads.
MAX_WORKERS: Final = 64
# prctl's request to be sent a signal when the parent process ends.
_PR_SET_PDEATHSIG: Final = 1
# What the command exits with when a worker ended on its own.
WORKER_FAILED: Final = 1


class WakePipe:
    """A pipe any worker writes to after a change, and the webhook-sending worker listens on."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def wake(self) -> None:
        """Ask the listening worker to look at the outbox now."""
        # A full pipe already holds a wake that has not been read: nothing is lost.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, b"\0")

    def listen(self, on_wake: Callable[[], None]) -> None:
        """Call `on_wake` on the running event loop whenever another worker wakes this one."""
        asyncio.get_running_loop().add_reader(self._read, self._drain, on_wake)

    def stop_listening(self) -> None:
        """Undo `listen`, on the loop it listened on."""
        asyncio.get_running_loop().remove_reader(self._read)

    def _drain(self, on_wake: Callable[[], None]) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass
        on_wake()


@dataclass(frozen=True)
class WorkerRole:
    """This process's part of the sandbox's work. Alone (the default), it does all of it."""

    # Whether this process sends webhooks and expires links (one worker of the command does).
    delivers_webhooks: bool = True
    # How the workers reach the one that sends webhooks; None when there is one process.
    wake_pipe: WakePipe | None = None


def run_workers(count: int, serve: Callable[[int], None]) -> int:
    """Fork `count` processes, each running `serve(index)` (index 0 to count - 1), and wait for
    all of them; returns the command's exit status: 0 when they were stopped by SIGINT or
    SIGTERM, WORKER_FAILED when one ended on its own (the others are then stopped).

    `serve` runs in the child with the handlers SIGINT and SIGTERM had before this call; the
    child ends when it returns, with status 0, or 1 if it raised.
    """
    children: dict[int, int] = {}
    stopping = False

    def stop_all(_signum: int = 0, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            # SIGTERM, not SIGINT: a second SIGINT makes uvicorn drop the requests in flight.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop_all) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in range(count):
            if stopping:
                break
            parent, pid = os.getpid(), os.fork()
            if pid == 0:
                _child(index, serve, previous, parent)
            children[pid] = index
        if stopping:
            stop_all()
        status = 0
        while children:
            try:
                pid, wait_status = os.wait()
            except ChildProcessError:
                break
            index = children.pop(pid)
            if not stopping:
                code = os.waitstatus_to_exitcode(wait_status)
                logger.error(
                    "worker %d (pid %d) ended on its own (%s); stopping the others",
                    index,
                    pid,
                    f"exit status {code}" if code >= 0 else f"signal {-code}",
                )
                status = WORKER_FAILED
                stop_all()
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _end_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when its parent ends, even by SIGKILL, so that
    no worker outlives the command (Linux's PR_SET_PDEATHSIG; elsewhere, nothing)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    if prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0 and os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)  # the parent ended before the request was made


def _child(
    index: int,
    serve: Callable[[int], None],
    handlers: Mapping[signal.Signals, _Handler],
    parent: int,
) -> None:
    """The forked worker's whole life: it never returns into the parent's code."""
    status = 0
    try:
        _end_with_parent(parent)
        for sig, handler in handlers.items():
            if handler is not None:
                signal.signal(sig, handler)
        serve(index)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        logger.exception("worker %d failed", index)
        status = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)
