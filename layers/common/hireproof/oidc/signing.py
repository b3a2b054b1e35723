"""Signing of ID tokens (RS256) and the JWKS that the provider publishes at /oauth2/jwks.

The signers are the access gateway's (`hireproof.access.signing`), read from other variables:
`OIDC_SIGNING_KEY_IDS` lists asymmetric KMS keys (RSA, at least 2048 bits, SIGN_VERIFY), the
signing key first, and `OIDC_SIGNING_SECRET_ARN` names a Secrets Manager secret with PEM keys
instead. Every listed key is published, with its RFC 7638 thumbprint as kid.

Rotation: create the new key and deploy `OIDC_SIGNING_KEY_IDS=old,new`, so that relying parties
fetch the new public key while the old one still signs. Wait for their JWKS caches to expire: the
JWKS response allows 5 minutes of caching, and a relying party may keep it longer. Then deploy
`new,old`, and drop the old key once the last ID token it signed has expired (5 minutes).

NOTE: KMS signs RAW messages of at most 4096 bytes, so an ID token whose header and claims
exceed that (a person in very many groups) fails to sign with KMS; the secret signer has no limit.
"""

from __future__ import annotations

from hireproof.access.signing import DecisionSigner
from hireproof.access.signing import signer_from_env as _signer_from_env

KEY_IDS_VARIABLE = "OIDC_SIGNING_KEY_IDS"
SECRET_ARN_VARIABLE = "OIDC_SIGNING_SECRET_ARN"  # noqa: S105 (a variable name, not a secret)
ALGORITHM = "RS256"


def signer_from_env() -> DecisionSigner:
    """Return the ID token signer that OIDC_SIGNING_KEY_IDS or OIDC_SIGNING_SECRET_ARN selects."""
    return _signer_from_env(
        key_ids_variable=KEY_IDS_VARIABLE,
        secret_arn_variable=SECRET_ARN_VARIABLE,
        purpose="sign OpenID Connect ID tokens",
    )
