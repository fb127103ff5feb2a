"""The platform core every app stands on: tenants, org units, members and roles, API keys, the
audit log and tenant scoping (middleware, managers, PostgreSQL row-level security). It imports no
feature app; the apps hear of a new tenant through organizations.signals."""
