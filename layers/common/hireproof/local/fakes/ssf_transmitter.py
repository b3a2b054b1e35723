"""A local OpenID Shared Signals transmitter: signs Security Event Tokens and pushes them.

Over HTTPS on 127.0.0.1 (see `_service`) it serves its transmitter metadata at
`/.well-known/ssf-configuration` and its public key at `/jwks`. `security_event_token()` signs a
SET as SSF 1.0 and RFC 8417 shape it: header `typ: secevent+jwt`, RS256 with a kid; claims
iss, aud, iat, jti, `sub_id` and one event in `events`, never `sub` or `exp`. `push()` delivers
one SET to a receiver as RFC 8935 push delivery does, with `Content-Type:
application/secevent+jwt`, and returns the receiver's response.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from hireproof.local.fakes._service import FakeHttpsService, FakeRequest, FakeResponse

CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
RISC = "https://schemas.openid.net/secevent/risc/event-type/"
JWKS_PATH = "/jwks"
METADATA_PATH = "/.well-known/ssf-configuration"
DEFAULT_AUDIENCE = "https://hireproof.local/ssf"


class FakeSsfTransmitter(FakeHttpsService):
    """A Shared Signals transmitter on 127.0.0.1 with its own 2048-bit RSA signing key."""

    def __init__(self, *, audience: str = DEFAULT_AUDIENCE) -> None:
        super().__init__()
        self.audience = audience
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def parameter_overrides(self) -> dict[str, str]:
        """Return the template parameters that register this transmitter with the receiver."""
        transmitter = {
            "issuer": self.base_url,
            "jwks_uri": f"{self.base_url}{JWKS_PATH}",
            "audience": self.audience,
        }
        transmitters = [transmitter]
        return {"SsfTransmitters": json.dumps(transmitters), "SsfCaBundle": self.ca_bundle_path}

    def jwks(self) -> dict[str, Any]:
        """Return the key set the jwks URL serves."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def security_event_token(
        self,
        event_type: str,
        email: str,
        *,
        event: Mapping[str, Any] | None = None,
        jti: str | None = None,
        issued_at: int | None = None,
    ) -> str:
        """Sign one SET about the account with this e-mail; `event_type` is a full event type URI."""
        claims = {
            "iss": self.base_url,
            "aud": self.audience,
            "iat": issued_at if issued_at is not None else int(time.time()),
            "jti": jti or secrets.token_hex(16),
            "sub_id": {"format": "email", "email": email},
            "events": {event_type: dict(event or {})},
        }
        headers = {"typ": "secevent+jwt", "kid": self.kid}
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)

    def push(self, receiver_url: str, token: str) -> requests.Response:
        """Deliver one SET to a receiver on 127.0.0.1 as RFC 8935 push delivery does."""
        if not receiver_url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")):
            raise ValueError("the fake transmitter pushes to 127.0.0.1 only")
        return requests.post(
            receiver_url,
            data=token.encode(),
            headers={"Content-Type": "application/secevent+jwt", "Accept": "application/json"},
            timeout=30,
        )

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Serve the metadata and the key set; 404 elsewhere."""
        if request.method != "GET":
            return FakeResponse(405, {"error": "method not allowed"}, {"Allow": "GET"})
        if request.path == JWKS_PATH:
            return FakeResponse(200, self.jwks())
        if request.path == METADATA_PATH:
            metadata = {
                "spec_version": "1_0",
                "issuer": self.base_url,
                "jwks_uri": f"{self.base_url}{JWKS_PATH}",
                "delivery_methods_supported": ["urn:ietf:rfc:8935"],
            }
            return FakeResponse(200, metadata)
        return FakeResponse(404, {"error": "not found"})
