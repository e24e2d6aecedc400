"""Finding and reading the OpenAPI document the sandbox serves."""

from __future__ import annotations

import copy
import importlib.resources
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE_NAME = "openapi.yaml"


def spec_text() -> str:
    """The text of openapi.yaml.

    An installed distribution may ship the document inside the generated client's package; a
    checkout of the repository keeps it at the root, next to this package.
    """
    packaged = importlib.resources.files("pik_generated_client") / SPEC_FILE_NAME
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / SPEC_FILE_NAME).read_text(encoding="utf-8")


@cache
def _parsed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(spec_text())
    return document


def load_spec() -> dict[str, Any]:
    """A fresh, mutable copy of the parsed OpenAPI document."""
    return copy.deepcopy(_parsed())
