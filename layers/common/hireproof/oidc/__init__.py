"""HireProof as an OpenID Connect provider: a relying party logs people in with a new verification.

The protocol is oauthlib's OpenID Connect server (`server`) with a request validator backed by
the OidcTable (`validator`, `store`). `flow` has the steps the OIDC function's routes call,
`claims` builds the ID token and userinfo claims, `signing` signs ID tokens with KMS, and
`clients` defines client registrations, which `hireproof oidc-clients` manages.
"""
