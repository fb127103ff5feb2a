"""PostgreSQL backend that runs as the app role and tells the database the current tenant."""
