"""Signals of the platform core, for the apps above it (the core imports none of them)."""

from django.dispatch import Signal

# Sent by tenant_create inside its transaction, with the new tenant current (tenant_context):
# each app installs the defaults a new tenant needs from it. Arguments: tenant.
tenant_created = Signal()

# Sent by membership_deactivate inside its transaction, with the tenant current: apps release
# what the member held (alerts returns their open tickets to the queue). Arguments:
# membership, by.
member_deactivated = Signal()
# Sent after a committed change of the tree's shape (a move, an import that re-parents units),
# with the changed tenant current. Arguments: tenant, unit_ids (every unit whose path changed:
# the moved units and their descendants). Apps that keep per-subtree rollups rebuild on it.
org_units_moved = Signal()
