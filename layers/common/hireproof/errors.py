"""Every failure HireProof raises, one class per failure.

A class name is also the Step Functions error name that ASL `Retry` and `Catch`
blocks match, so renaming a class means changing the state machines too.
HTTP status codes for these errors live in one table, `hireproof.http_errors`.
"""

from __future__ import annotations


class HireProofError(Exception):
    """Base class for every error HireProof raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# ----------------------------------------------------------------- input
class InvalidRequestError(HireProofError):
    """The request body or a parameter is invalid; `field` names it."""


class UnknownSourceError(HireProofError):
    """The HR source in the path is not one HireProof accepts."""


class PayloadTooLargeError(HireProofError):
    """An uploaded file or a request body is over its size limit."""


class UnsupportedMediaTypeError(HireProofError):
    """A file or body has a content type HireProof does not accept."""


# ----------------------------------------------------------------- authentication
class SignatureMissingError(HireProofError):
    """A signed request arrived without its signature or timestamp header."""


class SignatureInvalidError(HireProofError):
    """A request signature does not match the body received."""


class TimestampOutOfWindowError(HireProofError):
    """A signed request's timestamp is outside the replay window."""


class InvitationNotFoundError(HireProofError):
    """An invitation token matches no verification session."""


class InvitationExpiredError(HireProofError):
    """An invitation link is past its lifetime or was replaced by a newer one."""


class InvitationUsedError(HireProofError):
    """An invitation link was already used to finish a verification."""


# ----------------------------------------------------------------- state
class NotFoundError(HireProofError):
    """A record the request refers to does not exist."""


class ConflictError(HireProofError):
    """The request conflicts with the record's current state."""


class RetakeRequiredError(HireProofError):
    """An image cannot be evaluated; the hire should capture it again."""

    def __init__(self, message: str, *, reason: str, attempts_left: int, field: str | None = None):
        super().__init__(message, field=field)
        self.reason = reason
        self.attempts_left = attempts_left


class RateLimitedError(HireProofError):
    """Too many requests for one person or source address within the window; retry later."""

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class AttemptsExhaustedError(HireProofError):
    """The verification used up its retake attempts."""


# ----------------------------------------------------------------- dependencies
class TransientError(HireProofError):
    """A dependency failed in a way that a retry may fix (throttling, 5xx, timeouts)."""


class IdentityProviderError(HireProofError):
    """The identity provider rejected a request in a way a retry will not fix."""


class ResetNotSupportedError(HireProofError):
    """The identity provider's API cannot reset a password or MFA factors; an administrator must."""


class FulfillmentError(HireProofError):
    """The fulfillment service rejected an order or a cancellation."""


class HrDirectoryError(HireProofError):
    """The HR directory could not return the employee a webhook refers to."""


class ConfigurationError(HireProofError):
    """A required setting is missing or invalid; the deployment needs fixing."""


class VerificationEngineError(HireProofError):
    """The verification engine failed to evaluate the evidence."""


# ----------------------------------------------------------------- fulfillment
class DeliveryFailedError(HireProofError):
    """The carrier reported a laptop shipment as failed or returned instead of delivered."""


# ----------------------------------------------------------------- input (appended)
class MalformedBodyError(HireProofError):
    """A request body is not the JSON document the endpoint expects."""


# ----------------------------------------------------------------- external verifier (appended)
class VerifierStateError(InvalidRequestError):
    """An external verifier's callback carries an unknown, expired, used or foreign state."""


class IdTokenInvalidError(VerificationEngineError):
    """An external verifier's ID token failed validation; `field` names the failed check."""


# ----------------------------------------------------------------- access gateway (appended)
class GatewayTokenInvalidError(HireProofError):
    """An access gateway's request token failed validation; `reason` names the failed check."""

    def __init__(self, message: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.reason = reason


class JwksUnavailableError(TransientError):
    """A JWKS could not be fetched or parsed, and no cached key has the requested kid."""


class SigningKeyNotFoundError(HireProofError):
    """A freshly fetched JWKS has no usable key with the kid that a token names."""


# ----------------------------------------------------------------- gateway administration (appended)
class GatewayAdminError(HireProofError):
    """The access gateway's administration API rejected a request in a way a retry will not fix."""


# ----------------------------------------------------------------- shared signals (appended)
class SetRejectedError(HireProofError):
    """A pushed Security Event Token was rejected; `err` is the RFC 8935 error code to return."""

    def __init__(self, message: str, *, err: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.err = err


# ----------------------------------------------------------------- recovery (appended)
class VerificationTooOldError(HireProofError):
    """A passed verification is too old to authorize a password or MFA reset, so a new one is needed."""


class ResetAlreadyChosenError(ConflictError):
    """A reset was already chosen for this verification, and one verification authorizes one reset."""


# ----------------------------------------------------------------- OpenID Connect provider (appended)
class AuthorizationRequestNotFoundError(HireProofError):
    """An OpenID Connect authorization request id matches no stored request."""


class AuthorizationRequestExpiredError(HireProofError):
    """A pending OpenID Connect authorization request is past its lifetime; the client must start again."""


class AuthorizationRequestUsedError(ConflictError):
    """A pending OpenID Connect authorization request already ended with a code or an error."""


class AuthorizationBrowserMismatchError(HireProofError):
    """A pending authorization request was continued without the secret of the browser that began it."""


class AuthorizationClientRejectedError(HireProofError):
    """The client's registration no longer allows a pending request: disabled, or its redirect URI removed."""


class StaleVerificationError(ConflictError):
    """A login's verification finished before its authorization request began, so it is not a new one."""
