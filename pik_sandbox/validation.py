"""Checking requests (and, on request, responses) against the document's schemas, worded for
people.

Each schema is compiled once by jsonschema-rs, which answers whether a value is valid; only when
it is not does the Python `jsonschema` library find the failure to describe, so an answer's
wording does not depend on the fast path. `format`s are checked by `jsonschema`'s own checkers
in both, so the two always agree on what is valid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any, Final

import jsonschema_rs
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend

from pik_sandbox.errors import SandboxError, cut_short

_MAX_SHOWN = 40
_PLAIN_INTEGER = re.compile(r"-?[0-9]+")
_FORMAT_CHECKER: Final = Draft4Validator.FORMAT_CHECKER


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A schema's `pattern` compiled to end where an ECMA-262 regex (which OpenAPI's patterns
    follow) ends: its `$` matches at the very end of the text only, where Python's also matches
    before a final newline."""
    translated: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        translated.append(char)
    return re.compile("".join(translated))


def _ecma_pattern(
    validator: Any, pattern: str, instance: Any, _schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 4 (OpenAPI 3.0's schemas), with `pattern` checked as the document means it.
SchemaValidator: Any = extend(Draft4Validator, {"pattern": _ecma_pattern})


def _format_checks() -> dict[str, Any]:
    """jsonschema's checker for each format it knows, for jsonschema-rs to call."""

    def checker(name: str) -> Any:
        return lambda value: _FORMAT_CHECKER.conforms(value, name)

    return {name: checker(name) for name in _FORMAT_CHECKER.checkers}


def _shown(value: Any) -> str:
    """A value as it may appear in a message: its JSON form, cut short when long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return cut_short(text, _MAX_SHOWN)


_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "null",
}


def describe(error: ValidationError, subject: str | None = None) -> str:
    """One readable sentence for a JSON Schema failure, naming the field that is wrong."""
    path = ".".join(str(part) for part in error.absolute_path)
    field = subject or path or "body"
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    kind = error.validator
    if kind == "required":
        prefix = f"{path}: " if path else ""
        return f"{prefix}{error.message}."
    if kind == "additionalProperties":
        prefix = f"{path}: " if path else ""
        return f"{prefix}{error.message}; remove it."
    if kind == "type":
        got = _JSON_TYPE_NAMES.get(type(instance), type(instance).__name__)
        return f"{field}: must be of type {error.validator_value}, got {got}."
    if kind == "pattern":
        hint = f", for example {_shown(schema['example'])}" if "example" in schema else ""
        return f"{field}: {_shown(instance)} does not match {error.validator_value}{hint}."
    if kind == "maxLength":
        return f"{field}: must be at most {error.validator_value} characters long."
    if kind == "minLength":
        return f"{field}: must be at least {error.validator_value} characters long."
    if kind == "enum":
        allowed = ", ".join(str(value) for value in error.validator_value)
        return f"{field}: must be one of {allowed}; got {_shown(instance)}."
    if kind == "maximum":
        return f"{field}: must be at most {error.validator_value}, got {_shown(instance)}."
    if kind == "minimum":
        return f"{field}: must be at least {error.validator_value}, got {_shown(instance)}."
    message = cut_short(error.message, 200)
    return f"{field}: {message}."


class SchemaCheck:
    """One schema of the document, compiled: whether a value fits it, and if not, why."""

    def __init__(
        self, schema: Mapping[str, Any], subject: str | None = None, *, own_formats: bool = False
    ) -> None:
        """Compile `schema` (its references resolved); `subject` names the value in messages
        when the failure is at its root. `own_formats`: jsonschema-rs checks `format`s with its
        own checkers, not by calling jsonschema's for each value (for the sandbox's answers,
        where a page has two hundred of them, and which no client's input reaches)."""
        self.schema = dict(schema)
        self.subject = subject
        self._fast = jsonschema_rs.Draft4Validator(
            self.schema,
            validate_formats=True,
            formats=None if own_formats else _format_checks(),
        )
        self._full: Any = None

    def is_valid(self, value: Any) -> bool:
        """Whether `value` fits the schema."""
        return bool(self._fast.is_valid(value))

    def problem(self, value: Any, subject: str | None = None) -> str | None:
        """A sentence naming what is wrong with `value`, or None when it fits."""
        if self._fast.is_valid(value):
            return None
        if self._full is None:
            self._full = SchemaValidator(self.schema, format_checker=_FORMAT_CHECKER)
        error = next(iter(self._full.iter_errors(value)), None)
        if error is not None:
            return describe(error, subject or self.subject)
        # The two libraries disagree: keep the compiled verdict, in its own words.
        first = next(iter(self._fast.iter_errors(value)))
        field = subject or self.subject or "body"
        return f"{field}: {cut_short(str(first.message), 200)}."


def bad_request(message: str) -> SandboxError:
    """The 400 for a request that does not match the document."""
    return SandboxError(400, message)


class ParameterRule:
    """A path or query parameter of an operation: found, converted to its type, and checked."""

    def __init__(self, parameter: Mapping[str, Any], argument: str) -> None:
        """Read one (resolved) parameter object of the document; `argument` is the keyword the
        handler takes it as."""
        self.name: str = parameter["name"]
        self.location: str = parameter["in"]
        self.required = bool(parameter.get("required", False))
        schema: Mapping[str, Any] = parameter.get("schema", {})
        self.type = schema.get("type")
        self.default = schema.get("default")
        self.argument = argument
        self.subject = f"{self.location} parameter '{self.name}'"
        self.check = SchemaCheck(schema, subject=self.subject)

    def value(self, given: list[str]) -> Any:
        """The parameter's value from the strings the request gave for it (a query may repeat
        one, refused by `plain` first), converted and checked; its default when absent."""
        if not given:
            if self.required:
                raise bad_request(f"Missing {self.location} parameter '{self.name}'.")
            return self.default
        return self.converted(given[0])

    def plain(self, given: list[str]) -> None:
        """Refuse a repeated value, or an integer not written in plain digits (Python's int()
        would also take `1_0`, `+5`, ` 5` and non-ASCII digits)."""
        if len(given) > 1:
            raise bad_request(f"{self.subject}: given {len(given)} times; give it once.")
        if given and self.type == "integer" and not _PLAIN_INTEGER.fullmatch(given[0]):
            raise bad_request(
                f"{self.subject}: {_shown(given[0])} is not an integer in plain digits, such as 20."
            )

    def converted(self, text: str) -> Any:
        """`text` as the parameter's type, checked against its schema."""
        value: Any = text
        if self.type == "integer":
            value = int(text)
        elif self.type == "number":
            try:
                value = float(text)
            except ValueError:
                value = text
        problem = self.check.problem(value)
        if problem is not None:
            raise bad_request(problem)
        return value


def _reject_lone_surrogates(value: Any, path: str = "") -> None:
    """Refuse strings with unpaired \\uD800-\\uDFFF escapes: JSON allows them, UTF-8 cannot
    store them."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            field = path or "body"
            raise bad_request(
                f"{field}: contains an unpaired surrogate escape, which is not text."
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_lone_surrogates(key, path)
            _reject_lone_surrogates(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_lone_surrogates(item, f"{path}.{index}" if path else str(index))


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice: parsers disagree on which one counts."""
    body: dict[str, Any] = {}
    for key, value in pairs:
        if key in body:
            raise bad_request(f"The request body gives {_shown(key)} more than once; send it once.")
        body[key] = value
    return body


def parse_json_body(raw: bytes) -> Any:
    """A request body's JSON value: UTF-8 text, each object's keys once, no lone surrogates, no
    number too long to read, not nested too deeply; else a 400 saying which."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise bad_request(
            f"The request body is not valid UTF-8 text (byte {error.start}); "
            "send JSON encoded as UTF-8."
        ) from None
    try:
        body = json.loads(text, object_pairs_hook=_object_without_repeated_keys)
        _reject_lone_surrogates(body)
        return body
    except json.JSONDecodeError as error:
        raise bad_request(
            f"The request body is not valid JSON: {error.msg} "
            f"(line {error.lineno}, column {error.colno})."
        ) from None
    except SandboxError:
        raise
    except ValueError:
        # Python refuses to read an integer of more than 4300 digits.
        raise bad_request(
            "The request body holds a number too long to read; send a shorter one."
        ) from None
    except RecursionError:
        raise bad_request("The request body is nested too deeply.") from None


def check_body(check: SchemaCheck, body: Any) -> None:
    """Refuse a body that does not fit its schema (`null` and nothing alike)."""
    if body is None:
        raise bad_request("The request body must be a JSON object, not empty.")
    try:
        problem = check.problem(body)
    except RecursionError:
        raise bad_request("The request body is nested too deeply.") from None
    if problem is not None:
        raise bad_request(problem)
