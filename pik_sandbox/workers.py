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
requests in flight and closes its database; one that takes longer than STOP_GRACE_SECONDS is
killed), and a worker that ends on its own stops the others, after which the command exits 1.
Both signals are held back while a worker is forked, so one arriving during start-up stops
every worker too. On Linux a worker also ends when the command is killed outright (SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.synchronize
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Final

logger = logging.getLogger("pik_sandbox.workers")


# Enough for any machine's cores; every worker opens its own connections and threads.
MAX_WORKERS: Final = 64
# prctl's request to be sent a signal when the parent process ends.
_PR_SET_PDEATHSIG: Final = 1
# What the command exits with when a worker ended on its own.
WORKER_FAILED: Final = 1
# How long workers told to stop may take (finishing the requests in flight) before being killed.
STOP_GRACE_SECONDS: Final = 10.0
_REAP_INTERVAL_SECONDS: Final = 0.05
_STOP_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM})
# How a worker told to stop may end: by returning, or by the signal itself (a `serve` that
# leaves SIGTERM or SIGINT to its default action).
_STOPPED_CODES: Final = frozenset({0, -signal.SIGINT, -signal.SIGTERM})


def process_lock() -> multiprocessing.synchronize.Lock:
    """A lock shared with the processes forked after it is made. From the fork start method's
    context where there is one: another method's lock is a named semaphore, which would start a
    resource tracker process beside the workers."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None).Lock()


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


# SIGINT and SIGTERM that came while no server had taken the signals over (see hold_stops).
_requested: list[int] = []


def _note_stop(signum: int, _frame: FrameType | None) -> None:
    _requested.append(signum)


def hold_stops() -> None:
    """From now on, note SIGINT and SIGTERM rather than act on them, until a server (or
    run_workers) installs handlers of its own; `stop_requested()` tells whether one came.

    A handler that raised instead could raise where Python ignores exceptions (a weakref
    callback, a `__del__`), and the signal would be lost: a worker told to stop would serve on.
    """
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _note_stop)


def stop_requested() -> bool:
    """Whether SIGINT or SIGTERM came while held (see hold_stops)."""
    return bool(_requested)


def run_workers(count: int, serve: Callable[[int], None]) -> int:
    """Fork `count` processes, each running `serve(index)` (index 0 to count - 1), and wait for
    all of them; returns the command's exit status: 0 when SIGINT or SIGTERM stopped them,
    WORKER_FAILED when one ended on its own, failed, or could not be started (the others are
    then stopped). A worker still running STOP_GRACE_SECONDS after being told to stop is killed.

    `serve` runs in the child with SIGINT and SIGTERM held (see hold_stops): it installs its own
    handlers, then checks `stop_requested()`. The child ends when it returns, with status 0, or 1
    if it raised.
    """
    children: dict[int, int] = {}
    stopping_since: float | None = None

    def stop_all(_signum: int = 0, _frame: FrameType | None = None) -> None:
        nonlocal stopping_since
        if stopping_since is None:
            stopping_since = time.monotonic()
        for pid in children:
            # SIGTERM, not SIGINT: a second SIGINT makes uvicorn drop the requests in flight.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop_all) for sig in _STOP_SIGNALS}
    status = 0
    if stop_requested():
        stop_all()  # before any worker was started
    try:
        for index in range(count):
            if stopping_since is not None:
                break
            try:
                children[_fork(index, serve)] = index
            except OSError as error:
                logger.error(
                    "worker %d could not be started (%s); stopping the others", index, error
                )
                status = WORKER_FAILED
                stop_all()
        if stopping_since is not None:
            stop_all()  # those forked after the signal
        while children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:  # none left to wait for, whatever `children` says
                break
            if pid == 0:
                if (
                    stopping_since is not None
                    and time.monotonic() > stopping_since + STOP_GRACE_SECONDS
                ):
                    for late in children:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(late, signal.SIGKILL)
                time.sleep(_REAP_INTERVAL_SECONDS)
                continue
            index = children.pop(pid, -1)
            code = os.waitstatus_to_exitcode(wait_status)
            if index < 0 or (stopping_since is not None and code in _STOPPED_CODES):
                continue
            logger.error(
                "worker %d (pid %d) ended %s (%s); stopping the others",
                index,
                pid,
                "on its own" if stopping_since is None else "badly while stopping",
                f"exit status {code}" if code >= 0 else f"signal {-code}",
            )
            status = WORKER_FAILED
            stop_all()
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fork(index: int, serve: Callable[[int], None]) -> int:
    """The pid of a new worker running `serve(index)`. SIGINT and SIGTERM are held back across
    the fork, so that neither reaches the child before it has its own handlers (it would run the
    parent's) nor the parent before it knows the child."""
    parent = os.getpid()
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        pid = os.fork()
        if pid == 0:
            _child(index, serve, parent)
        return pid
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _end_with_parent(parent: int) -> None:
    """Have the kernel send this process SIGTERM when its parent ends, even by SIGKILL, so that
    no worker outlives the command (Linux's PR_SET_PDEATHSIG; elsewhere, nothing); end now if
    the parent has already ended."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)


def _child(index: int, serve: Callable[[int], None], parent: int) -> None:
    """The forked worker's whole life, begun with SIGINT and SIGTERM blocked: it never returns
    into the parent's code."""
    status = 0
    try:
        _requested.clear()
        hold_stops()
        _end_with_parent(parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        serve(index)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:  # a serve whose own handlers raise it to stop
        status = 0
    except BaseException:
        logger.exception("worker %d failed", index)
        status = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)
