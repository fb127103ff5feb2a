"""Database pieces of the tenant guard: the PostgreSQL backend and the row-level security DDL."""
