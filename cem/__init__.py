"""CEM platform project package: settings, URLs, the Celery app and the tenancy core."""

from cem.celery import app as celery_app

__all__ = ["celery_app"]
