"""The Celery application, configured from Django settings (CELERY_* names); request code hands
it work through organizations.broker.publish."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cem.settings")

app = Celery("cem")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
