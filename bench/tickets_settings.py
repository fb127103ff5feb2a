"""Settings of the Celery worker bench.tickets starts: the platform's, with the local webhook
receiver's address allowed (settings.CEM_WEBHOOK_ALLOW_PRIVATE, empty in every deployment)."""

from cem.settings import *  # noqa: F403

CEM_WEBHOOK_ALLOW_PRIVATE = ["127.0.0.1"]
