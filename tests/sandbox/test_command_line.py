"""`pik-sandbox` refuses options it cannot serve with a one-line message and status 2, before it
listens, instead of starting broken or printing a traceback."""

from __future__ import annotations

import pytest

from pik_sandbox.cli import main


def refusal(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the command with `args`; it must exit with status 2. Returns what it printed."""
    try:
        status = main(["--host", "127.0.0.1", "--port", "0", *args])
    except SystemExit as exit_:  # argparse's own refusals
        status = int(exit_.code or 0)
    printed = capsys.readouterr()
    assert status == 2, printed
    assert "Traceback" not in printed.err
    assert printed.out == "", "nothing is announced as listening"
    return printed.err


def test_an_in_memory_database_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # Every connection to :memory: would get its own empty database.
    message = refusal(capsys, "--db", ":memory:")
    assert ":memory:" in message and "file" in message
