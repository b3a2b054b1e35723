"""`hireproof oidc-clients register|list|rotate-secret|disable`: the OpenID Connect provider's clients.

A client's secret is printed once, by `register` and `rotate-secret`, and only its scrypt hash
is stored in the stack's OidcTable. Rotating replaces the secret at once, so update the
relying party's configuration right after. A disabled client can no longer start or finish
a login or redeem a code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from pydantic import ValidationError

from hireproof.cli.errors import CommandError
from hireproof.cli.output import print_fields, print_json_lines, print_table
from hireproof.cli.target import Target
from hireproof.errors import NotFoundError
from hireproof.oidc.clients import (
    ClientRegistration,
    TokenEndpointAuthMethod,
    hash_secret,
    new_client_id,
    new_client_secret,
)
from hireproof.oidc.store import OidcStore, utc_now_iso

TABLE = "OidcTable"
COLUMNS = (
    ("client_id", "CLIENT ID"),
    ("name", "NAME"),
    ("token_endpoint_auth_method", "AUTH METHOD"),
    ("allowed_scopes", "SCOPES"),
    ("redirect_uris", "REDIRECT URIS"),
    ("disabled", "DISABLED"),
    ("updated_at", "UPDATED"),
)
SECRET_NOTICE = "The client secret is shown only now; store it in the relying party's configuration."  # noqa: S105


def _store(target: Target) -> OidcStore:
    return OidcStore(target.table(TABLE))


def _summary(registration: ClientRegistration) -> dict[str, Any]:
    # The secret hash stays out of every listing.
    return registration.model_dump(mode="json", exclude={"secret_hash"})


def _print(record: dict[str, Any], *, as_json: bool, out: TextIO) -> None:
    if as_json:
        print_json_lines([record], out)
    else:
        print_fields(record, out)


def _print_with_secret(registration: ClientRegistration, secret: str, *, as_json: bool, out: TextIO) -> None:
    record = {**_summary(registration), "client_secret": secret, "notice": SECRET_NOTICE}
    _print(record, as_json=as_json, out=out)


def register_command(
    target: Target,
    *,
    name: str,
    redirect_uris: Sequence[str],
    scopes: Sequence[str],
    auth_method: str,
    as_json: bool,
    out: TextIO,
) -> int:
    """Register a client, then print its id and its secret once."""
    secret = new_client_secret()
    now = utc_now_iso()
    try:
        registration = ClientRegistration(
            client_id=new_client_id(),
            name=name,
            secret_hash=hash_secret(secret),
            redirect_uris=tuple(redirect_uris),
            allowed_scopes=tuple(scopes),
            token_endpoint_auth_method=TokenEndpointAuthMethod(auth_method),
            created_at=now,
            updated_at=now,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise CommandError(f"invalid client registration: {field}: {first['msg']}") from exc
    _store(target).create_client(registration)
    _print_with_secret(registration, secret, as_json=as_json, out=out)
    return 0


def list_command(target: Target, *, as_json: bool, out: TextIO) -> int:
    """Print every registered client without its secret hash."""
    rows = [_summary(registration) for registration in _store(target).list_clients()]
    if as_json:
        print_json_lines(rows, out)
    else:
        print_table(rows, COLUMNS, out)
    return 0


def _update(target: Target, client_id: str, changes: dict[str, Any]) -> ClientRegistration:
    try:
        return _store(target).update_client(client_id, changes)
    except NotFoundError as exc:
        raise CommandError(
            f"no OpenID Connect client {client_id} in stack {target.stack_name}; "
            "see `hireproof oidc-clients list`"
        ) from exc


def rotate_secret_command(target: Target, *, client_id: str, as_json: bool, out: TextIO) -> int:
    """Replace a client's secret and print the new one once; the old one stops working at once."""
    secret = new_client_secret()
    registration = _update(target, client_id, {"secret_hash": hash_secret(secret)})
    _print_with_secret(registration, secret, as_json=as_json, out=out)
    return 0


def disable_command(target: Target, *, client_id: str, as_json: bool, out: TextIO) -> int:
    """Disable a client: it can no longer log anyone in or redeem a code."""
    registration = _update(target, client_id, {"disabled": True})
    _print(_summary(registration), as_json=as_json, out=out)
    return 0
