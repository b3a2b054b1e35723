"""The one table that maps HireProof errors to HTTP responses.

Handlers built on Powertools' APIGatewayHttpResolver call `register(app)`; every
HireProofError then becomes a JSON body `{"error": <class name>, "message": ..., "field": ...}`
with the status below. Unexpected exceptions become a 500 without a stack trace.
"""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError

from hireproof import errors

logger = Logger(child=True)

STATUS_BY_ERROR: dict[type[errors.HireProofError], int] = {
    errors.InvalidRequestError: 422,
    errors.UnknownSourceError: 404,
    errors.PayloadTooLargeError: 413,
    errors.UnsupportedMediaTypeError: 415,
    errors.SignatureMissingError: 401,
    errors.SignatureInvalidError: 401,
    errors.TimestampOutOfWindowError: 401,
    errors.InvitationNotFoundError: 401,
    errors.InvitationExpiredError: 410,
    errors.InvitationUsedError: 410,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.RetakeRequiredError: 422,
    errors.AttemptsExhaustedError: 429,
    errors.RateLimitedError: 429,
    errors.TransientError: 503,
    errors.IdentityProviderError: 502,
    # 501: the request is valid, but the configured provider's API has no such reset, and
    # no change of state or retry makes it work; 409 would suggest that one could.
    errors.ResetNotSupportedError: 501,
    errors.FulfillmentError: 502,
    errors.DeliveryFailedError: 502,
    errors.HrDirectoryError: 502,
    errors.ConfigurationError: 500,
    errors.VerificationEngineError: 502,
    errors.MalformedBodyError: 400,
    errors.SetRejectedError: 400,
    errors.GatewayTokenInvalidError: 401,
    errors.JwksUnavailableError: 503,
    errors.SigningKeyNotFoundError: 401,
    errors.GatewayAdminError: 502,
    errors.AuthorizationRequestNotFoundError: 404,
    errors.AuthorizationRequestExpiredError: 410,
    errors.AuthorizationRequestUsedError: 409,
    errors.AuthorizationBrowserMismatchError: 403,
    errors.AuthorizationClientRejectedError: 403,
    errors.StaleVerificationError: 409,
    # 410: the authorization that a passed verification gave has run out, and only a new one renews it.
    errors.VerificationTooOldError: 410,
    errors.ResetAlreadyChosenError: 409,
}


def status_for(error: errors.HireProofError) -> int:
    """Return the HTTP status for an error, walking up its class hierarchy."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_response(error: errors.HireProofError) -> Response[str]:
    """Build the JSON error response for one HireProof error."""
    status = status_for(error)
    if isinstance(error, errors.SetRejectedError):
        # RFC 8935 fixes this body for rejected Security Event Tokens.
        set_body = {"err": error.err, "description": error.message}
        return Response(status_code=status, content_type="application/json", body=json.dumps(set_body))
    body: dict[str, object] = {"error": type(error).__name__, "message": error.message}
    if error.field:
        body["field"] = error.field
    if isinstance(error, errors.RetakeRequiredError):
        body["retake_reason"] = error.reason
        body["attempts_left"] = error.attempts_left
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, errors.RateLimitedError) else None
    return Response(
        status_code=status, content_type="application/json", body=json.dumps(body), headers=headers
    )


def register(app: APIGatewayHttpResolver) -> None:
    """Install the error mapping on a Powertools HTTP resolver."""

    @app.exception_handler(errors.HireProofError)  # type: ignore[untyped-decorator]
    def _handle_known(error: errors.HireProofError) -> Response[str]:
        logger.info("request rejected", extra={"error": type(error).__name__, "field": error.field})
        return error_response(error)

    @app.exception_handler(ServiceError)  # type: ignore[untyped-decorator]
    def _handle_routing(error: ServiceError) -> Response[str]:
        # Powertools' own errors, such as an unknown route (404), keep their status.
        body = json.dumps({"error": type(error).__name__, "message": error.msg})
        return Response(status_code=error.status_code, content_type="application/json", body=body)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _handle_unexpected(error: Exception) -> Response[str]:
        # The stack trace goes to the log (no request data in it), never to the caller.
        logger.exception("unexpected error", extra={"error": type(error).__name__})
        body = json.dumps({"error": "InternalError", "message": "internal error; see the logs"})
        return Response(status_code=500, content_type="application/json", body=body)
