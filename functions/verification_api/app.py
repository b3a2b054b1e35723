"""The hire-facing verification API, called from the hire's phone.

Every route authenticates with `Authorization: Bearer <invitation token>`:
- POST /verify/session: open the session (heartbeat to the workflow, IN_PROGRESS);
- POST /verify/uploads: a presigned S3 POST for one image;
- POST /verify/liveness: a Rekognition Face Liveness session (liveness_mode "rekognition");
- POST /verify/submit: evaluate the latest images and decide, or ask for a retake (422);
- GET /verify/credential: reveal the onboarding credential once.
Errors map to HTTP statuses in `hireproof.http_errors`.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from hireproof import http_errors
from hireproof.sessions import service
from hireproof.sessions.models import Session, SubmitRequest, UploadRequest

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()
http_errors.register(app)


def _authenticated(*, allow_decided: bool = False) -> Session:
    event = app.current_event
    session = service.authenticate(
        event.headers.get("authorization"),
        event.headers.get("accept-language"),
        allow_decided=allow_decided,
    )
    logger.append_keys(session_id=session.session_id, onboarding_id=session.onboarding_id)
    return session


def _ok(model: BaseModel) -> Response[str]:
    # no-store: responses carry upload policies and, once, a credential.
    return Response(
        status_code=200,
        content_type="application/json",
        body=json.dumps(model.model_dump(mode="json")),
        headers={"Cache-Control": "no-store"},
    )


@app.post("/verify/session")
def open_session() -> Response[str]:
    session = _authenticated()
    return _ok(service.open_session(session))


@app.post("/verify/uploads")
def create_upload() -> Response[str]:
    session = _authenticated()
    request = service.parse_body(UploadRequest, app.current_event.decoded_body, session.locale)
    return _ok(service.create_upload(session, request))


@app.post("/verify/liveness")
def create_liveness() -> Response[str]:
    session = _authenticated()
    return _ok(service.create_liveness(session))


@app.post("/verify/submit")
def submit() -> Response[str]:
    session = _authenticated()
    service.parse_body(SubmitRequest, app.current_event.decoded_body, session.locale)
    return _ok(service.submit(session))


@app.get("/verify/credential")
def credential() -> Response[str]:
    session = _authenticated(allow_decided=True)
    return _ok(service.collect_credential(session))


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
