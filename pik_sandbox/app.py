"""The sandbox as an ASGI application: Connexion bound to openapi.yaml, plus the checkout page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import connexion  # type: ignore[import-untyped]
import yaml
from connexion.datastructures import MediaTypeDict  # type: ignore[import-untyped]
from connexion.exceptions import ProblemException  # type: ignore[import-untyped]
from connexion.lifecycle import ConnexionResponse  # type: ignore[import-untyped]
from connexion.middleware import MiddlewarePosition  # type: ignore[import-untyped]
from connexion.middleware.main import ConnexionMiddleware  # type: ignore[import-untyped]
from connexion.middleware.server_error import (  # type: ignore[import-untyped]
    ServerErrorMiddleware,
)
from connexion.options import SwaggerUIOptions  # type: ignore[import-untyped]
from connexion.resolver import Resolver  # type: ignore[import-untyped]
from connexion.validators import VALIDATOR_MAP  # type: ignore[import-untyped]
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pik_sandbox import checkout, handlers
from pik_sandbox.errors import (
    SandboxError,
    default_message,
    render,
    shown_path,
    storage_unavailable,
    unknown_path,
)
from pik_sandbox.middleware import RateLimitMiddleware, SandboxMiddleware
from pik_sandbox.paths import API_BASE_PATH, API_DOCS_PATH, DOCS_PATH
from pik_sandbox.settings import SandboxSettings
from pik_sandbox.spec import load_spec
from pik_sandbox.state import Sandbox
from pik_sandbox.store import PaymentLinkStore, StorageBusy, StorageFailed
from pik_sandbox.validation import ReadableJSONBodyValidator, ReadableParameterValidator
from pik_sandbox.webhooks import WebhookDeliverer

logger = logging.getLogger("pik_sandbox")

BEARER_INFO_FUNC = "pik_sandbox.auth.bearer_info"
UNAUTHORIZED_MESSAGE = (
    "Missing or invalid API key; send it as `Authorization: Bearer YOUR_API_KEY`."
)


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resolve_handler(operation_id: str) -> Callable[..., Any]:
    """The handler of an operationId: createPaymentLink -> handlers.create_payment_link."""
    function: Callable[..., Any] = getattr(handlers, _snake_case(operation_id))
    return function


def _for_connexion(response: Response) -> ConnexionResponse:
    """A rendered answer as Connexion's error handlers must return it."""
    return ConnexionResponse(
        status_code=response.status_code,
        mimetype=response.media_type,
        body=response.body,
        headers={
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        },
    )


class _ErrorHandlers:
    """Turns whatever a request raised into a SandboxError, answered by the one renderer."""

    def __init__(self, spec: dict[str, Any]) -> None:
        # Each documented path as a regular expression, with all the methods it has, for the
        # `Allow` of a 405.
        self._paths: list[tuple[re.Pattern[str], list[str]]] = []
        for template, item in spec.get("paths", {}).items():
            pattern = re.escape(API_BASE_PATH + template)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            methods = [m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}]
            self._paths.append((re.compile(pattern + "$"), methods))

    def _allowed(self, path: str) -> list[str] | None:
        for pattern, methods in self._paths:
            if pattern.match(path):
                return methods
        return None

    async def answer(self, request: Any, exc: Exception) -> ConnexionResponse:
        """Connexion's error handler for every exception type: the SandboxError it stands for,
        rendered for the request's path (the path as sent: request.url drops line breaks)."""
        error = self._sandbox_error(request, exc)
        return _for_connexion(render(request.scope["path"], error))

    def _sandbox_error(self, request: Any, exc: Exception) -> SandboxError:
        if isinstance(exc, SandboxError):
            return exc
        if isinstance(exc, StorageBusy | StorageFailed):
            logger.warning("storage: %s", exc)
            return storage_unavailable(exc)
        if isinstance(exc, ProblemException):
            return self._problem(exc)
        if isinstance(exc, HTTPException):
            return self._http_error(request, exc)
        logger.error("unexpected error", exc_info=exc)
        return SandboxError(500, "An internal error occurred; retry later.")

    @staticmethod
    def _problem(exc: ProblemException) -> SandboxError:
        status = int(exc.status)
        headers = dict(exc.headers or {})
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
            return SandboxError(401, UNAUTHORIZED_MESSAGE, headers=headers)
        if status == 415:
            return SandboxError(
                415, "Content-Type must be application/json for this operation.", headers=headers
            )
        detail = str(exc.detail or exc.title or default_message(status))
        # Connexion's own details may run over several lines (schema dumps); keep the first.
        message = detail.strip().splitlines()[0] if detail.strip() else default_message(status)
        if not message.endswith((".", "?", "!")):
            message += "."
        if status >= 500:
            logger.error("request failed: %s", detail)
        return SandboxError(status, message, headers=headers)

    def _http_error(self, request: Any, exc: HTTPException) -> SandboxError:
        status = exc.status_code
        headers = dict(exc.headers or {})
        path = request.scope["path"]
        method = request.method
        # Connexion routes each operation on its own, so Starlette's 405 names the methods of the
        # first route that matched; `Allow` must name every method the document has there.
        allowed = self._allowed(path) or [
            m.strip() for m in headers.get("Allow", "").split(",") if m.strip()
        ]
        if status == 404:
            return SandboxError(404, unknown_path(path))
        if status == 405:
            headers["Allow"] = ", ".join(allowed)
            return SandboxError(
                405,
                f"{method} is not allowed on {shown_path(path)}; allowed: {', '.join(allowed)}.",
                headers=headers,
            )
        return SandboxError(status, str(exc.detail or default_message(status)), headers=headers)


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


def sandbox_of(app: connexion.AsyncApp) -> Sandbox:
    """The Sandbox (settings, store, limiters) behind an app made by create_app."""
    return _SANDBOXES[app]


def close_app(app: connexion.AsyncApp) -> None:
    """Close an app's database connections, as its lifespan shutdown would."""
    sandbox_of(app).store.close()


def create_app(settings: SandboxSettings) -> connexion.AsyncApp:
    """A sandbox serving `settings`, as an ASGI application (Connexion's AsyncApp)."""
    store = PaymentLinkStore(
        settings.db_path,
        clock=settings.clock or time.time,
        lock_timeout=settings.db_lock_timeout_seconds,
    )
    sandbox = Sandbox(settings=settings, store=store)
    spec = load_spec()
    served_document = _public_document(load_spec(), settings.public_url)
    # The shared document must not name Python functions; only this in-memory copy does.
    spec["components"]["securitySchemes"]["bearerAuth"]["x-bearerInfoFunc"] = BEARER_INFO_FUNC

    deliverer = WebhookDeliverer(
        store,
        schedule=settings.webhook_retry_schedule,
        timeout=settings.webhook_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        # Webhook events are sent in the background while the app serves.
        delivering = asyncio.create_task(deliverer.run())
        try:
            yield
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering
            store.close()

    errors = _ErrorHandlers(spec)
    middlewares = list(ConnexionMiddleware.default_middlewares)
    # Connexion's last-resort handler answers problem+json; ours answers in PIK's shape.
    middlewares[middlewares.index(ServerErrorMiddleware)] = partial(
        ServerErrorMiddleware, handler=errors.answer
    )
    app = connexion.AsyncApp(
        __name__,
        lifespan=lifespan,
        middlewares=middlewares,
        swagger_ui_options=SwaggerUIOptions(
            serve_spec=False,
            swagger_ui_path=DOCS_PATH,
            swagger_ui_template_arguments={
                "urls": [{"url": "/openapi.yaml", "name": spec["info"]["title"]}]
            },
        ),
    )
    validator_map = {
        "parameter": ReadableParameterValidator,
        # A MediaTypeDict, as Connexion's own: a plain dict would miss `application/json` and
        # silently skip body validation.
        "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": ReadableJSONBodyValidator}),
    }
    app.add_api(
        spec,
        base_path=API_BASE_PATH,
        resolver=Resolver(resolve_handler),
        pythonic_params=True,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        validator_map=validator_map,
    )
    app.add_middleware(
        SandboxMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, sandbox=sandbox
    )
    app.add_middleware(
        RateLimitMiddleware, position=MiddlewarePosition.BEFORE_VALIDATION, sandbox=sandbox
    )
    for exception_type in (
        SandboxError,
        StorageBusy,
        StorageFailed,
        ProblemException,
        HTTPException,
        Exception,
    ):
        app.add_error_handler(exception_type, errors.answer)

    async def openapi_document(_request: Request) -> Response:
        return Response(served_document, media_type="application/yaml")

    async def docs_redirect(_request: Request) -> Response:
        return RedirectResponse(API_DOCS_PATH + "/", status_code=307)

    app.add_url_rule("/openapi.yaml", "openapi_document", openapi_document, methods=["GET"])
    app.add_url_rule("/docs", "docs", docs_redirect, methods=["GET"])
    app.add_url_rule("/docs/", "docs_slash", docs_redirect, methods=["GET"])
    app.add_url_rule("/", "root", docs_redirect, methods=["GET"])
    checkout.add_routes(app)
    _SANDBOXES[app] = sandbox
    return app
