"""Members: identified by email. There is no role update in the API, so a role change
replaces the membership (remove, then invite again)."""

from __future__ import annotations

from .base import Endpoint, Field, KindApi, KindSpec, LiveItem, ReplaceStrategy, lower
from .project import PROTECT
from .vocab import MEMBER_ROLES


def _never_prune(item: LiveItem) -> str | None:
    if item.raw.get("role") == "owner":
        return "the account owner cannot be removed"
    return None


MEMBER = KindSpec(
    name="member",
    title="member",
    config_key="members",
    identity=("email",),
    depends_on=("tier",),
    description="A person with access to the account.",
    fields={
        "email": Field({"type": "string", "format": "email", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "maxLength": 254},
                       required=True, normalize=lower, description="The member's email (case-insensitive); identity."),
        "role": Field({"type": "string", "enum": list(MEMBER_ROLES)}, required=True, updatable=False,
                      description="Changing it re-invites the member."),
        "status": Field({"type": "string"}, computed=True),
    },
    meta={"protect": PROTECT},
    api=KindApi(
        list=Endpoint("GET", "/v1/account/members/list"),
        create=Endpoint("POST", "/v1/account/members/invite"),
        delete=Endpoint("DELETE", "/v1/account/members/remove/{id}"),
        id_field="member_id",
    ),
    replace_strategy=ReplaceStrategy.DELETE_BEFORE_CREATE,  # the email is unique
    never_prune=_never_prune,
    tier_limit="members",
)


