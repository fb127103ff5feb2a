"""Template context: the current tenant and membership, with what the role may do."""

from organizations.access import PERMISSIONS


def tenant(request) -> dict:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "tenant": membership.tenant,
        "membership": membership,
        "can": {
            name.replace(".", "_"): membership.role in roles for name, roles in PERMISSIONS.items()
        },
    }
