"""Security endpoints of the Nexus double that the nexus3 chart's configure.sh calls.

Plugged in by testbed/nexus_admin.py (``AdminApi.security``); answers every path under
``/service/rest/v1/security/`` except ``anonymous``. Shapes follow the OpenAPI files
(``RealmApiXO``, ``RoleXORequest``/``RoleXOResponse``, ``ApiUser``/``ApiCreateUser``) and the
resources in sonatype/nexus-public: components/nexus-security/src/main/java/org/sonatype/nexus/
security/ (``realm/api/RealmApiResource.java``, ``role/rest/RoleApiResource.java``,
``user/rest/UserApiResource.java``):

* ``GET /security/realms/available`` (``[{id, name}]``), ``GET/PUT /security/realms/active``
  (a JSON list of realm ids; PUT answers 204).
* ``GET /security/roles``, ``GET /security/roles/{id}`` (404 when absent), ``POST
  /security/roles`` (200 with the role), ``PUT /security/roles/{id}`` (204).
* ``GET /security/users?userId=&source=`` (users whose id starts with ``userId``), ``POST
  /security/users`` (200 with the user; the password also lets the user sign in to the double),
  ``PUT /security/users/{userId}`` (204).

State: ``active_realms``, ``roles`` (id -> RoleXOResponse), ``accounts`` (id -> ApiUser). A new
double starts as a fresh Nexus does: the ``admin`` and ``anonymous`` users and the ``nx-admin``
and ``nx-anonymous`` roles.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import TYPE_CHECKING, Any

from testbed.httpbase import Response
from testbed.nexus_double import (
    Request,
    empty_response,
    json_response,
    parse_json,
    siesta_error,
    validation_errors,
)

if TYPE_CHECKING:
    from testbed.nexus_admin import AdminApi

NOT_EMPTY = "must not be empty"
NOT_NULL = "must not be null"

# Realms of Nexus OSS (RealmApiResource lists the installed ones with their names)
REALMS = {
    "NexusAuthenticatingRealm": "Local Authenticating Realm",
    "ConanToken": "Conan Bearer Token Realm",
    "DefaultRole": "Default Role Realm",
    "DockerToken": "Docker Bearer Token Realm",
    "LdapRealm": "LDAP Realm",
    "NpmToken": "npm Bearer Token Realm",
    "NuGetApiKey": "NuGet API-Key Realm",
    "rutauth-realm": "Rut Auth Realm",
}


def _role(
    role_id: str, name: str, description: str, privileges: list[str], roles: list[str]
) -> dict[str, Any]:
    return {
        "id": role_id,
        "source": "default",
        "name": name,
        "description": description,
        "readOnly": False,
        "privileges": privileges,
        "roles": roles,
    }


def _user(user_id: str, first: str, last: str, email: str, roles: list[str]) -> dict[str, Any]:
    return {
        "userId": user_id,
        "firstName": first,
        "lastName": last,
        "emailAddress": email,
        "source": "default",
        "status": "active",
        "readOnly": False,
        "roles": roles,
        "externalRoles": [],
    }


def _missing(body: dict[str, Any], fields: tuple[str, ...], message: str) -> list[tuple[str, str]]:
    return [(f"PARAMETER {k}", message) for k in fields if body.get(k) in (None, "", [])]


def _unreadable() -> Response:
    return siesta_error(400, {"id": "*", "message": "Could not process the input"})


def _object_body(req: Request) -> dict[str, Any] | Response:
    """The request's JSON object, or the 400 Nexus answers for any other body."""
    body = parse_json(req)
    if not isinstance(body, dict):
        return _unreadable()
    return body


def _role_body(req: Request) -> dict[str, Any] | Response:
    """A role's JSON object (``RoleXORequest``), or the 400 for a body that is not one or lacks
    ``id`` or ``name``."""
    body = _object_body(req)
    if isinstance(body, Response):
        return body
    problems = _missing(body, ("id", "name"), NOT_EMPTY)
    if problems:
        return validation_errors(problems)
    return body


class Security:
    """Realms, roles and users of one double; see the module docstring."""

    def __init__(self, api: AdminApi) -> None:
        self.api = api
        self.active_realms: list[str] = ["NexusAuthenticatingRealm"]
        self.roles: dict[str, dict[str, Any]] = {
            "nx-admin": _role("nx-admin", "nx-admin", "Administrator Role", ["nx-all"], []),
            "nx-anonymous": _role(
                "nx-anonymous",
                "nx-anonymous",
                "Anonymous Role",
                ["nx-healthcheck-read", "nx-search-read", "nx-repository-view-*-*-read",
                 "nx-repository-view-*-*-browse"],
                [],
            ),
        }
        self.accounts: dict[str, dict[str, Any]] = {
            "admin": _user("admin", "Administrator", "User", "admin@example.org", ["nx-admin"]),
            "anonymous": _user(
                "anonymous", "Anonymous", "User", "anonymous@example.org", ["nx-anonymous"]
            ),
        }
        self._lock = threading.Lock()

    def handle(self, req: Request, rest: str) -> Response | None:
        denied = self.api._auth(req)
        if denied:
            return denied
        parts = [urllib.parse.unquote(p) for p in rest.split("/")]
        with self._lock:
            if parts[0] == "realms" and len(parts) == 2:
                return self._realms(req, parts[1])
            if parts[0] == "roles":
                return self._roles(req, parts[1] if len(parts) > 1 and parts[1] else None)
            if parts[0] == "users":
                return self._users(req, parts[1] if len(parts) > 1 and parts[1] else None)
        # DEVIATION: privileges, LDAP, SAML, user tokens... are not modelled (404)
        return None

    # -- realms -----------------------------------------------------------------------------

    def _realms(self, req: Request, which: str) -> Response | None:
        if which == "available" and req.method == "GET":
            return json_response(200, [{"id": k, "name": v} for k, v in REALMS.items()])
        if which != "active":
            return None
        if req.method == "GET":
            return json_response(200, self.active_realms)
        if req.method != "PUT":
            return empty_response(405)
        body = parse_json(req)
        if not isinstance(body, list) or not all(isinstance(r, str) for r in body):
            return _unreadable()
        unknown = [r for r in body if r not in REALMS]
        if unknown:
            # DEVIATION: the text for unknown realm ids is not pinned by a source
            return siesta_error(400, {"id": "*", "message": f'"Unknown realmIds: {unknown}"'})
        self.active_realms = list(dict.fromkeys(body))
        return empty_response(204)

    # -- roles ------------------------------------------------------------------------------

    def _roles(self, req: Request, role_id: str | None) -> Response:
        if role_id is None:
            if req.method == "GET":
                return json_response(200, list(self.roles.values()))
            if req.method != "POST":
                return empty_response(405)
            body = _role_body(req)
            if isinstance(body, Response):
                return body
            if str(body["id"]) in self.roles:
                # DEVIATION: the duplicate-role text is not pinned by a source
                return siesta_error(400, {"id": "*", "message": f'"Role {body["id"]} exists"'})
            role = self._role_from(body)
            self.roles[role["id"]] = role
            return json_response(200, role)
        current = self.roles.get(role_id)
        if req.method == "GET":
            if current is None:
                return siesta_error(404, {"id": "*", "message": f'"Role \'{role_id}\' not found"'})
            return json_response(200, current)
        if req.method != "PUT":
            return empty_response(405)
        if current is None:
            return empty_response(404)
        body = _role_body(req)
        if isinstance(body, Response):
            return body
        self.roles[role_id] = self._role_from({**body, "id": role_id})
        return empty_response(204)

    @staticmethod
    def _role_from(body: dict[str, Any]) -> dict[str, Any]:
        # DEVIATION: the privileges and roles a role names are not checked for existence
        return _role(
            str(body["id"]),
            str(body["name"]),
            str(body.get("description") or ""),
            [str(p) for p in body.get("privileges") or []],
            [str(r) for r in body.get("roles") or []],
        )

    # -- users ------------------------------------------------------------------------------

    def _users(self, req: Request, user_id: str | None) -> Response:
        if user_id is None:
            if req.method == "GET":
                term = (req.query.get("userId") or [""])[0]
                source = (req.query.get("source") or ["default"])[0]
                found = [
                    u
                    for u in self.accounts.values()
                    if u["userId"].startswith(term) and u["source"] == source
                ]
                return json_response(200, found)
            if req.method != "POST":
                return empty_response(405)
            body = _object_body(req)
            if isinstance(body, Response):
                return body
            error = self._invalid_user(
                body, ("userId", "firstName", "lastName", "emailAddress", "password")
            )
            if error:
                return error
            user = self._user_from(body)
            self.accounts[user["userId"]] = user
            with self.api.double.lock:
                self.api.double.users[user["userId"]] = str(body["password"])
            return json_response(200, user)
        current = self.accounts.get(user_id)
        if req.method != "PUT":
            return empty_response(405)
        if current is None:
            return siesta_error(404, {"id": "*", "message": f'"User \'{user_id}\' not found."'})
        body = _object_body(req)
        if isinstance(body, Response):
            return body
        if body.get("userId") != user_id:
            # DEVIATION: the text for a userId that differs from the path is not pinned
            return siesta_error(400, {"id": "*", "message": '"The path\'s userId does not match"'})
        error = self._invalid_user(body, ("firstName", "lastName", "emailAddress", "source"))
        if error:
            return error
        self.accounts[user_id] = self._user_from(body)
        return empty_response(204)

    def _invalid_user(self, body: dict[str, Any], not_empty: tuple[str, ...]) -> Response | None:
        """The 400 for a user body: the fields this endpoint requires (and status), then roles
        Nexus does not know; None for a valid body."""
        problems = _missing(body, not_empty, NOT_EMPTY) + _missing(body, ("status",), NOT_NULL)
        if problems:
            return validation_errors(problems)
        return self._unknown_roles(body)

    def _unknown_roles(self, body: dict[str, Any]) -> Response | None:
        unknown = [r for r in body.get("roles") or [] if r not in self.roles]
        if unknown:
            # DEVIATION: Nexus refuses unknown role ids; the exact text is not pinned
            return siesta_error(400, {"id": "*", "message": f'"Unable to locate roles {unknown}"'})
        return None

    @staticmethod
    def _user_from(body: dict[str, Any]) -> dict[str, Any]:
        user = _user(
            str(body["userId"]),
            str(body["firstName"]),
            str(body["lastName"]),
            str(body["emailAddress"]),
            [str(r) for r in body.get("roles") or []],
        )
        user["status"] = str(body.get("status") or "active")
        return user
