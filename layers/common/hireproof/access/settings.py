"""Gateway settings (token issuer, audience, certs URL), read from the environment that template.yaml sets."""

from __future__ import annotations

from hireproof.access.tokens import GatewaySettings
from hireproof.config import optional_env
from hireproof.errors import ConfigurationError


def gateway_from_env() -> tuple[GatewaySettings, str | None]:
    """Return the gateway settings and the extra CA bundle for its certs URL, if any.

    ACCESS_TEAM_DOMAIN is the team domain (`yourteam.cloudflareaccess.com`): tokens must be issued
    by `https://<domain>` and signed by a key from `https://<domain>/cdn-cgi/access/certs`. An
    empty domain or audience fails closed: no evaluation can succeed until both are set.
    """
    domain = optional_env("ACCESS_TEAM_DOMAIN").strip().removeprefix("https://").rstrip("/")
    audience = optional_env("ACCESS_AUDIENCE").strip()
    if not domain or not audience:
        raise ConfigurationError(
            "the access gateway is not configured; set the AccessTeamDomain and AccessAudience parameters"
        )
    if "/" in domain:
        raise ConfigurationError("AccessTeamDomain must be a host name such as yourteam.cloudflareaccess.com")
    base = f"https://{domain}"
    settings = GatewaySettings(certs_url=f"{base}/cdn-cgi/access/certs", issuer=base, audience=audience)
    return settings, optional_env("ACCESS_CA_BUNDLE") or None
