"""GET /verify, GET /verify/step-up and GET /verify/assets/{proxy+}: the verification page.

The access gateway sends a person who must verify again to /verify/step-up. That page
explains that a link is on its way by e-mail.

The function serves static files and message catalogs only. The page itself calls the
verification API (functions/verification_api) from the hire's browser, so no token and no
personal data pass through here: the token stays in the URL fragment, which browsers never send.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from hireproof import http_errors
from hireproof.config import require_env
from hireproof.sessions import evaluation
from hireproof.web import assets, headers
from hireproof.web.assets import Asset

logger = Logger()
app = APIGatewayHttpResolver()
http_errors.register(app)


def _send(asset: Asset | None, extra_headers: dict[str, str] | None = None) -> Response[str]:
    response_headers = {**headers.common_headers(), **(extra_headers or {})}
    if asset is None:
        logger.info("page asset not found")
        body = json.dumps({"error": "NotFoundError", "message": "Not Found"})
        return Response(status_code=404, content_type="application/json", body=body, headers=response_headers)
    response_headers["ETag"] = asset.etag
    if headers.not_modified(app.current_event.headers.get("if-none-match"), asset):
        return Response(status_code=304, headers=response_headers)
    return Response(
        status_code=200, content_type=asset.content_type, body=asset.body, headers=response_headers
    )


def _page_policy() -> dict[str, str]:
    # The Rekognition engine's Face Liveness check streams from the browser to AWS in the
    # Lambda's region, where the verification API created the session.
    region = require_env("AWS_REGION") if evaluation.liveness_mode() == "rekognition" else None
    return {"Content-Security-Policy": headers.content_security_policy(headers.upload_origin(), region)}


@app.get("/verify")
def page() -> Response[str]:
    return _send(assets.page_asset(), _page_policy())


@app.get("/verify/step-up")
def step_up_page() -> Response[str]:
    return _send(assets.step_up_page_asset(), _page_policy())


# A catch-all regex, because Powertools' <name> route parameters stop at a slash.
@app.get("/verify/assets/.+")
def asset() -> Response[str]:
    path = (app.current_event.path_parameters or {}).get("proxy", "")
    return _send(assets.static_asset(path))


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
