"""The demo tenant, seeded through the same services as the pages (`manage.py seed_demo`)."""
