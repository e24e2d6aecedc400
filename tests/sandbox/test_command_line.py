"""`pik-sandbox` refuses options it cannot serve with a one-line message and status 2, before it
listens, instead of starting broken or printing a traceback."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from pik_sandbox.cli import build_parser, main, package_version

REFUSAL_TIMEOUT_SECONDS = 10.0


def refusal(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the command with `args`; it must exit with status 2. Returns what it printed."""
    statuses: list[int] = []

    def run() -> None:
        try:
            statuses.append(main(["--host", "127.0.0.1", "--port", "0", *args]))
        except SystemExit as exit_:  # argparse's own refusals
            statuses.append(int(exit_.code or 0))

    # On a thread, so that a command which starts serving fails the test instead of hanging it.
    command = threading.Thread(target=run, daemon=True)
    command.start()
    command.join(timeout=REFUSAL_TIMEOUT_SECONDS)
    printed = capsys.readouterr()
    assert statuses == [2], f"the command did not refuse: {printed}"
    assert "Traceback" not in printed.err
    assert printed.out == "", "nothing is announced as listening"
    return printed.err


def test_an_in_memory_database_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # Every connection to :memory: would get its own empty database.
    message = refusal(capsys, "--db", ":memory:")
    assert ":memory:" in message and "file" in message


@pytest.mark.parametrize("kind", ["a folder", "not SQLite"])
def test_a_database_sqlite_cannot_open_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    db = tmp_path
    if kind == "not SQLite":
        db = tmp_path / "notes.txt"
        db.write_text("These are not the links you are looking for.\n" * 100)
    message = refusal(capsys, "--db", str(db))
    assert str(db) in message and "SQLite" in message


@pytest.mark.parametrize("ttl", ["nan", "inf", "0", "-5"])
def test_a_link_ttl_that_is_not_a_finite_positive_number_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ttl: str
) -> None:
    message = refusal(capsys, "--db", str(tmp_path / "db.sqlite3"), "--link-ttl", ttl)
    assert "link TTL" in message


@pytest.mark.parametrize(
    ("asset", "mention"),
    [(":6", "''"), ("US-DT:2", "US-DT"), ("U:2", "'U'"), ("SOL:-1", "decimals"), ("SOL:x", "x")],
)
def test_an_asset_the_document_could_not_name_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, asset: str, mention: str
) -> None:
    message = refusal(capsys, "--db", str(tmp_path / "db.sqlite3"), "--asset", asset)
    assert mention in message


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--port", "70000"),
        ("--port", "-1"),
        ("--port", "80.5"),
        ("--port", "eighty"),
        ("--link-ttl", "soon"),
        ("--public-url", "checkout.example"),
        ("--public-url", "ftp://checkout.example"),
        ("--api-key", ""),
        ("--api-key", "sk with spaces"),
        ("--rate-limit", "sometimes"),
        ("--workers", "0"),
        ("--workers", "65"),
        ("--log-level", "loud"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str
) -> None:
    message = refusal(capsys, "--db", str(tmp_path / "db.sqlite3"), option, value)
    assert message.startswith("usage: pik-sandbox")
    assert f"argument {option}" in message


def test_a_bad_key_in_the_environment_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIK_SANDBOX_API_KEYS", "sk_fine,sk\tbroken")
    message = refusal(capsys, "--db", str(tmp_path / "db.sqlite3"))
    assert "$PIK_SANDBOX_API_KEYS" in message and "printable ASCII" in message


def test_help_names_every_options_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    listed = capsys.readouterr().out.split("options:", 1)[1]
    # Each option's help (argparse wraps lines) runs from its name to the next option's name.
    entries = re.split(r"\n  (?=-)", listed)
    named = {entry.split()[0].rstrip(","): " ".join(entry.split()) for entry in entries[1:]}
    for action in build_parser()._actions:
        if action.dest in ("help", "version"):
            continue
        entry = named[action.option_strings[0]]
        assert "(default:" in entry, f"{entry!r} shows no default"


def test_version_is_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert printed == f"pik-sandbox {package_version()}"
    assert re.fullmatch(r"pik-sandbox \d+\.\d+\.\d+\S*", printed)


def test_the_readme_table_lists_every_option() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| option | default | meaning |") :].split("\n\n", 1)[0]
    listed = set(re.findall(r"`(--[a-z-]+)", table))
    options = {
        action.option_strings[-1]
        for action in build_parser()._actions
        if action.option_strings and action.dest != "help"
    }
    assert options - listed == set(), "options missing from the README's table"
    assert listed - options - {"--help"} == set(), "the README's table lists unknown options"
