"""CEM platform project package: settings, URLs, the Celery app, wsgi and the health
check; it knows every app and no app imports it."""

from cem.celery import app as celery_app

__all__ = ["celery_app"]
