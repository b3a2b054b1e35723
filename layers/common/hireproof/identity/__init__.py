"""Identity provider adapters behind one interface: IAM Identity Center, Okta and Entra ID.

Import the interface and values from here; `identity_provider_from_env` in
`hireproof.identity.factory` builds the adapter that the Lambda environment selects.
"""

from hireproof.identity.base import (
    CredentialKind,
    IdentityProvider,
    InitialCredential,
    ProviderCapabilities,
    StagedUser,
)

__all__ = [
    "CredentialKind",
    "IdentityProvider",
    "InitialCredential",
    "ProviderCapabilities",
    "StagedUser",
]
