"""The sandbox as an ASGI application: openapi.yaml's operations on Starlette's router, plus the
checkout page, the document itself and its interactive docs.

The document drives the API. Each documented path is a route; a request to it is answered in
the order PIK's API answers: the method (405 with `Allow`), the bearer key (401), the key's rate
limit (429), the parameters (400: unknown, repeated, mistyped or out of range), the body's media
type (415) and its JSON against the schema (400), then the handler named after the operationId,
called with the parameters as keyword arguments. Schemas are compiled once, at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from html import escape
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson
import yaml
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from pik_sandbox import checkout, handlers
from pik_sandbox.domain import account_for_key
from pik_sandbox.errors import (
    INTERNAL_ERROR_MESSAGE,
    SandboxError,
    default_message,
    header,
    internal_error,
    render,
    shown_path,
    unknown_path,
)
from pik_sandbox.middleware import SandboxMiddleware
from pik_sandbox.operations import (
    JSON_MEDIA_TYPE,
    Operation,
    PathItem,
    handler_name,
    read_operations,
)
from pik_sandbox.paths import API_BASE_PATH, API_DOCS_PATH, DOCS_PATH
from pik_sandbox.settings import CREATION_OPERATIONS, SandboxSettings
from pik_sandbox.spec import load_spec
from pik_sandbox.state import Sandbox
from pik_sandbox.store import PaymentLinkStore, StorageBusy, StorageFailed
from pik_sandbox.validation import check_body, parse_json_body
from pik_sandbox.webhooks import WebhookDeliverer

logger = logging.getLogger("pik_sandbox")

UNAUTHORIZED_MESSAGE: Final = (
    "Missing or invalid API key; send it as `Authorization: Bearer YOUR_API_KEY`."
)
_JSON_HEADERS: Final = [(b"content-type", JSON_MEDIA_TYPE.encode())]


def resolve_handler(operation_id: str) -> Callable[..., Any]:
    """The handler of an operationId: createPaymentLink -> handlers.create_payment_link."""
    function: Callable[..., Any] = getattr(handlers, handler_name(operation_id))
    return function


class OperationRoute:
    """The ASGI endpoint of one documented path: every method the document has there."""

    def __init__(self, item: PathItem, sandbox: Sandbox, *, validate_responses: bool) -> None:
        """Serve `item`'s operations for `sandbox`."""
        self.item = item
        self.sandbox = sandbox
        self.validate_responses = validate_responses
        self._accounts: dict[str, str] = {}
        self._allow = ", ".join(item.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request to this path."""
        try:
            status, payload = await self._answer(scope, receive)
            body = orjson.dumps(payload)
        except SandboxError as error:
            await render(scope["path"], error)(scope, receive, send)
            return
        except Exception as exc:  # Every failure is answered in PIK's shape.
            await render(scope["path"], internal_error(exc))(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _operation(self, method: str, path: str) -> Operation:
        operations = self.item.operations
        operation = operations.get(method)
        if operation is None and method == "HEAD":
            operation = operations.get("GET")
        if operation is None:
            raise SandboxError(
                405,
                f"{method} is not allowed on {shown_path(path)}; allowed: {self._allow}.",
                headers={"Allow": self._allow},
            )
        return operation

    async def _answer(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        operation = self._operation(scope["method"], scope["path"])
        logger.debug("%s: validating the key, parameters and body", operation.operation_id)
        arguments: dict[str, Any] = {"sandbox": self.sandbox}
        if operation.secured:
            account = self._account(header(scope, b"authorization"))
            self._count(account, operation)
            arguments["user"] = account
        self._parameters(operation, scope, arguments)
        body = await self._body(operation, scope, receive)
        if operation.body is not None:
            arguments["body"] = body
        if logger.isEnabledFor(logging.DEBUG):
            shown = {k: v for k, v in arguments.items() if k not in ("sandbox", "user", "body")}
            logger.debug("%s: request valid, parameters %s", operation.operation_id, shown)
        result = await operation.handler(**arguments)
        payload, status = result if isinstance(result, tuple) else (result, 200)
        if self.validate_responses:
            # What goes on the wire is checked: parts of it may be JSON already (a page's links).
            self._check_response(operation, status, orjson.loads(orjson.dumps(payload)))
        return status, payload

    def _account(self, authorization: bytes | None) -> str:
        """The caller's account from `Authorization: Bearer KEY` (the scheme in any case), or a
        401 for no header, another scheme or a key this sandbox does not have."""
        if authorization is not None:
            # The scheme in any case, then the key after any whitespace; nothing after the key.
            parts = authorization.decode("latin-1").split(None, 1)
            scheme, token = (parts[0], parts[1].strip()) if len(parts) == 2 else ("", "")
            if scheme.lower() == "bearer" and token and len(token.split()) == 1:
                account = self._accounts.get(token)
                if account is None:
                    account = account_for_key(token)
                    if account not in self.sandbox.accounts:
                        raise _unauthorized()
                    self._accounts[token] = account
                return account
        raise _unauthorized()

    def _count(self, account: str, operation: Operation) -> None:
        """Count the call against the key's limit, or refuse it with a 429."""
        if not self.sandbox.settings.rate_limit:
            return
        creating = operation.operation_id in CREATION_OPERATIONS
        sandbox = self.sandbox
        limiter = sandbox.creation_limiter if creating else sandbox.general_limiter
        retry_after = limiter.acquire(account)
        if retry_after is not None:
            what = "creations" if creating else "requests"
            raise SandboxError(
                429,
                f"Rate limit of {limiter.limit} {what} a minute exceeded; "
                f"retry in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )

    @staticmethod
    def _parameters(operation: Operation, scope: Scope, arguments: dict[str, Any]) -> None:
        """Each parameter converted and checked, into `arguments`; unknown query names refused."""
        query: dict[str, list[str]] = {}
        query_string = scope["query_string"]
        if query_string:
            for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
                query.setdefault(name, []).append(value)
        for rule in operation.query:
            rule.plain(query.get(rule.name, []))
        extra = [name for name in query if name not in operation.query_names]
        if extra:
            raise SandboxError(400, f"Extra query parameter(s) {','.join(extra)} not in spec.")
        for rule in operation.query:
            value = rule.value(query.get(rule.name, []))
            if value is not None:
                arguments[rule.argument] = value
        path_values: Mapping[str, Any] = scope.get("path_params", {})
        for rule in operation.path_parameters:
            given = path_values.get(rule.name)
            arguments[rule.argument] = rule.value([] if given is None else [str(given)])

    @staticmethod
    async def _body(operation: Operation, scope: Scope, receive: Receive) -> Any:
        """The request's JSON body, checked: its media type against the operation's, then its
        presence, then its JSON against the schema. Operations without a body ignore one."""
        if not operation.consumes:
            return None
        content_type = header(scope, b"content-type")
        media_type = content_type.decode("latin-1") if content_type else operation.consumes[0]
        if media_type not in operation.consumes:
            raise SandboxError(415, "Content-Type must be application/json for this operation.")
        raw = await _read_body(receive)
        body_rule = operation.body
        if body_rule is None:
            return None
        if not raw:
            if body_rule.required:
                raise SandboxError(400, "RequestBody is required.")
            return None
        body = parse_json_body(raw)
        check_body(body_rule.check, body)
        return body

    @staticmethod
    def _check_response(operation: Operation, status: int, payload: Any) -> None:
        """With --validate-responses: a handler's answer that the document does not allow is a
        500, and the log says why."""
        if status not in operation.responses:
            logger.error(
                "%s answered %s, a status it does not document", operation.operation_id, status
            )
            raise SandboxError(500, INTERNAL_ERROR_MESSAGE)
        check = operation.responses[status]
        if check is None:
            return
        problem = check.problem(payload)
        if problem is not None:
            logger.error(
                "%s: response body does not match the document: %s", operation.operation_id, problem
            )
            raise SandboxError(500, INTERNAL_ERROR_MESSAGE)


def _unauthorized() -> SandboxError:
    return SandboxError(401, UNAUTHORIZED_MESSAGE, headers={"WWW-Authenticate": "Bearer"})


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (the sandbox's middleware has read it already, within limits)."""
    chunks = []
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more_body = bool(message.get("more_body", False))
    return b"".join(chunks)


def _public_document(spec: dict[str, Any], public_url: str) -> str:
    """openapi.yaml as this sandbox serves it: the contract, with this server listed first."""
    document = dict(spec)
    document["servers"] = [
        {"url": public_url + API_BASE_PATH, "description": "This local sandbox"},
        *spec.get("servers", []),
    ]
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text


# The sandbox behind each app, for code that manages an app's lifetime without running its ASGI
# lifespan (in-process tests through httpx.ASGITransport, for one).
_SANDBOXES: weakref.WeakKeyDictionary[Any, Sandbox] = weakref.WeakKeyDictionary()


def sandbox_of(app: Starlette) -> Sandbox:
    """The Sandbox (settings, store, limiters) behind an app made by create_app."""
    return _SANDBOXES[app]


def close_app(app: Starlette) -> None:
    """Close an app's database connections, as its lifespan shutdown would."""
    sandbox_of(app).store.close()


class _ErrorAnswers:
    """Starlette's own refusals (a path or a method no route has) and the checkout's errors in
    PIK's shape."""

    async def answer(self, request: Request, exc: Exception) -> Response:
        """The rendered SandboxError for whatever a non-API route raised."""
        path = request.scope["path"]
        if isinstance(exc, SandboxError):
            error = exc
        elif isinstance(exc, HTTPException):
            error = self._http_error(request, exc)
        else:
            error = internal_error(exc)
        return render(path, error)

    @staticmethod
    def _http_error(request: Request, exc: HTTPException) -> SandboxError:
        status = exc.status_code
        headers = dict(exc.headers or {})
        path = request.scope["path"]
        if status == 404:
            return SandboxError(404, unknown_path(path))
        if status == 405:
            allowed = [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
            allowed = [m for m in allowed if m != "HEAD"] or allowed
            headers["Allow"] = ", ".join(allowed)
            return SandboxError(
                405,
                f"{request.method} is not allowed on {shown_path(path)}; "
                f"allowed: {', '.join(allowed)}.",
                headers=headers,
            )
        return SandboxError(status, str(exc.detail or default_message(status)), headers=headers)


def _docs_page(title: str) -> str:
    """Swagger UI's page, reading the served document, from files this sandbox serves itself
    (the docs work offline)."""
    assets = API_DOCS_PATH
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(title)}: interactive docs</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-ui-standalone-preset.js"></script>
<script>
window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "/openapi.yaml",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  }});
}};
</script>
</body>
</html>
"""


def _docs_routes(title: str) -> list[Any]:
    """The interactive docs under the API, and the short paths that lead there."""
    import swagger_ui_bundle  # type: ignore[import-untyped]

    page = _docs_page(title)

    async def docs_page(_request: Request) -> Response:
        return Response(page, media_type="text/html")

    async def docs_redirect(_request: Request) -> Response:
        return RedirectResponse(API_DOCS_PATH + "/", status_code=307)

    return [
        Route(API_DOCS_PATH + "/", docs_page, methods=["GET"]),
        Route(API_DOCS_PATH, docs_redirect, methods=["GET"]),
        Mount(API_DOCS_PATH, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)),
        Route(DOCS_PATH, docs_redirect, methods=["GET"]),
        Route(DOCS_PATH + "/", docs_redirect, methods=["GET"]),
        Route("/", docs_redirect, methods=["GET"]),
    ]


def create_app(settings: SandboxSettings) -> Starlette:
    """A sandbox serving `settings`, as an ASGI application."""
    store = PaymentLinkStore(
        settings.db_path,
        clock=settings.clock or time.time,
        lock_timeout=settings.db_lock_timeout_seconds,
    )
    sandbox = Sandbox(settings=settings, store=store)
    spec = load_spec()
    served_document = _public_document(spec, settings.public_url)
    items = read_operations(spec, resolve_handler)

    deliverer = WebhookDeliverer(
        store,
        schedule=settings.webhook_retry_schedule,
        timeout=settings.webhook_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        role, background = sandbox.worker, []
        # One process checkpoints the WAL for all (below): commits leave it to that.
        store.use_checkpointer()
        if role.delivers_webhooks:
            # Webhook events are sent, and the WAL checkpointed, in the background while the
            # app serves.
            background = [
                asyncio.create_task(deliverer.run()),
                asyncio.create_task(store.checkpoints()),
            ]
            if role.wake_pipe is not None:
                role.wake_pipe.listen(deliverer.wake)
        elif role.wake_pipe is not None:
            # Another worker process sends them; this one wakes it after a change.
            store.on_events = role.wake_pipe.wake
        try:
            yield
        finally:
            if background and role.wake_pipe is not None:
                role.wake_pipe.stop_listening()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            store.close()

    async def openapi_document(_request: Request) -> Response:
        return Response(served_document, media_type="application/yaml")

    routes: list[Any] = [
        Route(
            API_BASE_PATH + item.template,
            OperationRoute(item, sandbox, validate_responses=settings.validate_responses),
        )
        for item in items
    ]
    routes += [
        Route("/openapi.yaml", openapi_document, methods=["GET"]),
        *_docs_routes(spec["info"]["title"]),
        *checkout.routes(),
    ]
    errors = _ErrorAnswers()
    handled: dict[Any, Callable[..., Any]] = {
        exception_type: errors.answer
        for exception_type in (SandboxError, HTTPException, StorageBusy, StorageFailed)
    }
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SandboxMiddleware, sandbox=sandbox)],
        exception_handlers=handled,
    )
    # A path with a stray trailing slash is a 404 (SandboxMiddleware), never a redirect.
    app.router.redirect_slashes = False
    _SANDBOXES[app] = sandbox
    return app


__all__ = ["close_app", "create_app", "sandbox_of"]
