"""Request validators that keep Connexion's checks but word their failures for people.

Connexion's own messages embed whole JSON Schema dumps, and it answers a body that is not valid
UTF-8 with a 500; these subclasses give a short 400 instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Iterator
from functools import cache
from typing import Any

from connexion.exceptions import BadRequestProblem  # type: ignore[import-untyped]
from connexion.json_schema import Draft4RequestValidator  # type: ignore[import-untyped]
from connexion.utils import is_nullable  # type: ignore[import-untyped]
from connexion.validators import (  # type: ignore[import-untyped]
    JSONRequestBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.datastructures import QueryParams

from pik_sandbox.errors import cut_short

_MAX_SHOWN = 40
_PLAIN_INTEGER = re.compile(r"-?[0-9]+")


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


# Connexion's validators, with `pattern` checked as the document means it.
BodySchemaValidator: Any = extend(Draft4RequestValidator, {"pattern": _ecma_pattern})
SchemaValidator: Any = extend(Draft4Validator, {"pattern": _ecma_pattern})


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


def _reject_lone_surrogates(value: Any, path: str = "") -> None:
    """Refuse strings with unpaired \\uD800-\\uDFFF escapes: JSON allows them, UTF-8 cannot
    store them."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            field = path or "body"
            raise BadRequestProblem(
                detail=f"{field}: contains an unpaired surrogate escape, which is not text."
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
            raise BadRequestProblem(
                detail=f"The request body gives {_shown(key)} more than once; send it once."
            )
        body[key] = value
    return body


class ReadableJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Connexion's JSON body validation with short messages and no 500 on undecodable bytes.

    The sandbox's middleware accepts JSON as UTF-8 only and leaves no charset in Content-Type,
    so this validator and the handler decode the same bytes the same way.
    """

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Any) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadRequestProblem(
                detail=f"The request body is not valid UTF-8 text (byte {error.start}); "
                "send JSON encoded as UTF-8."
            ) from None
        if not text:
            return None
        try:
            body = json.loads(text, object_pairs_hook=_object_without_repeated_keys)
            _reject_lone_surrogates(body)
            return body
        except json.JSONDecodeError as error:
            raise BadRequestProblem(
                detail=f"The request body is not valid JSON: {error.msg} "
                f"(line {error.lineno}, column {error.colno})."
            ) from None
        except ValueError:
            # Python refuses to read an integer of more than 4300 digits.
            raise BadRequestProblem(
                detail="The request body holds a number too long to read; send a shorter one."
            ) from None
        except RecursionError:
            raise BadRequestProblem(detail="The request body is nested too deeply.") from None

    @property
    def _validator(self) -> Any:
        return BodySchemaValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None:
            raise BadRequestProblem(detail="The request body must be a JSON object, not empty.")
        try:
            self._validator.validate(body)
        except ValidationError as error:
            raise BadRequestProblem(detail=describe(error)) from None
        except RecursionError:
            raise BadRequestProblem(detail="The request body is nested too deeply.") from None
        return None


class ReadableParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Connexion's parameter validation, naming the parameter instead of dumping its schema.

    Connexion takes the last of a repeated query parameter and reads integers with Python's
    int(), which also accepts `1_0`, `+5`, ` 5` and non-ASCII digits: a query parameter is
    refused unless given once and, when an integer, written in plain digits.
    """

    def validate(self, scope: Any) -> None:
        """Check the query as sent, then as Connexion reads it."""
        query = QueryParams(scope.get("query_string", b""))
        for param in self.parameters.get("query", []):
            name = param["name"]
            values = query.getlist(name)
            if len(values) > 1:
                raise BadRequestProblem(
                    detail=f"query parameter '{name}': given {len(values)} times; give it once."
                )
            if (
                values
                and param.get("schema", {}).get("type") == "integer"
                and not _PLAIN_INTEGER.fullmatch(values[0])
            ):
                raise BadRequestProblem(
                    detail=f"query parameter '{name}': {_shown(values[0])} is not an integer in "
                    "plain digits, such as 20."
                )
        super().validate(scope)

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        """A message for an invalid parameter value, or None when it is valid."""
        name = param_name or param["name"]
        if is_nullable(param) and value is None:
            return None
        if value is None:
            if param.get("required"):
                return f"Missing {parameter_type} parameter '{name}'."
            return None
        schema = param.get("schema", param)
        try:
            SchemaValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).validate(value)
        except ValidationError as error:
            return describe(error, subject=f"{parameter_type} parameter '{name}'")
        return None
