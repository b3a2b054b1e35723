"""Password and MFA recovery routes.

For the person (no AWS credentials):
- GET /recovery: the work e-mail form, in the browser's language (`?lang=` or Accept-Language);
- POST /recovery: form field `email`; 303 to `verify#token=<token>` for any e-mail, decoys
  included. 422 re-renders the form for an invalid address, 429 for too many starts;
- POST /verify/recovery/reset: `Authorization: Bearer <session token>`, body `{"kind":
  "password" | "mfa"}`; 202 with the chosen reset, errors as `hireproof.recovery.choice` lists.

For help desk agents (IAM-authorized):
- POST /recovery/requests: `{"person_id"}` or `{"work_email"}`; 201, the caller gets a link by e-mail;
- GET /recovery/requests/{recovery_id}: status and "verified as <name>", no evidence;
- POST /recovery/requests/{recovery_id}/reset: `{"kind": "password" | "mfa"}`; 202.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError

from hireproof import http_errors
from hireproof.config import optional_env
from hireproof.errors import InvalidRequestError, MalformedBodyError, RateLimitedError, ResetNotSupportedError
from hireproof.i18n import SUPPORTED_LOCALES, language_from_accept_language
from hireproof.recovery import choice, requests
from hireproof.recovery.models import HelpDeskStartRequest, RecoveryChannel, ResetRequest
from hireproof.sessions import service
from hireproof.web import entry, headers

logger = Logger()
tracer = Tracer()
app = APIGatewayHttpResolver()
http_errors.register(app)

ModelT = TypeVar("ModelT", bound=BaseModel)
_EMAIL = TypeAdapter(EmailStr)
# A form post carries one field; more is not a browser submitting this form.
_MAX_FORM_FIELDS = 8


def _locale() -> str:
    requested = (app.current_event.query_string_parameters or {}).get("lang")
    if requested in SUPPORTED_LOCALES:
        return str(requested)
    return language_from_accept_language(app.current_event.headers.get("accept-language"))


def _form(locale: str, *, status: int = 200, error_key: str | None = None, email: str = "") -> Response[str]:
    action = f"recovery?lang={locale}"
    body = entry.render(
        "recovery", locale, action=action, assets_prefix="verify/assets/", error_key=error_key, email=email
    )
    response_headers = {**headers.common_headers(), "Content-Security-Policy": entry.policy()}
    return Response(status_code=status, content_type=entry.CONTENT_TYPE, body=body, headers=response_headers)


def _json(status: int, model: BaseModel) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(model.model_dump(mode="json")),
        headers={"Cache-Control": "no-store"},
    )


def _json_body(model: type[ModelT], expected: str) -> ModelT:
    try:
        document = json.loads(app.current_event.decoded_body or "null")
    except json.JSONDecodeError as exc:
        raise MalformedBodyError(f"body is not valid JSON; send {expected}", field="body") from exc
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidRequestError(f"{field}: {first['msg']}; send {expected}", field=field) from exc


def _page_url() -> str:
    # Empty VERIFICATION_PAGE_URL means this API's own domain (see template.yaml).
    return optional_env("VERIFICATION_PAGE_URL") or f"https://{app.current_event.request_context.domain_name}"


def _agent_arn() -> str:
    iam = app.current_event.request_context.authorizer.iam
    return str(iam.user_arn or iam.caller_id or "unknown-iam-principal")


# ----------------------------------------------------------------- the person
@app.get("/recovery")
def recovery_form() -> Response[str]:
    return _form(_locale())


@app.post("/recovery")
def start_recovery() -> Response[str]:
    locale = _locale()
    fields = parse_qs(app.current_event.decoded_body or "", max_num_fields=_MAX_FORM_FIELDS)
    email = (fields.get("email") or [""])[0].strip()
    try:
        _EMAIL.validate_python(email)
    except ValidationError:
        return _form(locale, status=422, error_key="page.entry.error.email", email=email)
    try:
        started = requests.start_self_service(
            email, source_ip=app.current_event.request_context.http.source_ip, locale=locale
        )
    except RateLimitedError as exc:
        response = _form(locale, status=429, error_key="api.error.rate_limited", email=email)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except ResetNotSupportedError:
        logger.warning("recovery start rejected: the identity provider has no reset API")
        return _form(locale, status=501, error_key="page.entry.error.unavailable", email=email)
    # The token stays in the fragment, which browsers never send to a server.
    return Response(
        status_code=303,
        headers={
            "Location": f"verify#token={started.token}",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@app.post("/verify/recovery/reset")
def choose_own_reset() -> Response[str]:
    event = app.current_event
    session = service.authenticate(
        event.headers.get("authorization"), event.headers.get("accept-language"), allow_decided=True
    )
    logger.append_keys(session_id=session.session_id)
    request = service.parse_body(ResetRequest, event.decoded_body, session.locale)
    return _json(202, choice.choose_reset_for_session(session, request.kind))


# ----------------------------------------------------------------- the help desk
@app.post("/recovery/requests")
def start_for_caller() -> Response[str]:
    request = _json_body(HelpDeskStartRequest, '{"person_id": ...} or {"work_email": ...}')
    started = requests.start_help_desk(
        person_id=request.person_id,
        work_email=str(request.work_email) if request.work_email else None,
        actor=_agent_arn(),
        page_url=_page_url(),
    )
    logger.append_keys(recovery_id=started.recovery_id, person_id=started.person_id)
    return _json(201, started)


@app.get("/recovery/requests/<recovery_id>")
def describe(recovery_id: str) -> Response[str]:
    return _json(200, requests.describe(recovery_id))


@app.post("/recovery/requests/<recovery_id>/reset")
def reset_for_caller(recovery_id: str) -> Response[str]:
    request = _json_body(ResetRequest, '{"kind": "password" or "mfa"}')
    logger.append_keys(recovery_id=recovery_id)
    return _json(
        202, choice.choose_reset(recovery_id, request.kind, _agent_arn(), channel=RecoveryChannel.HELP_DESK)
    )


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
