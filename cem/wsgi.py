"""WSGI entry point (gunicorn cem.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cem.settings")
application = get_wsgi_application()

# Import the URLconf and every view now rather than on the first request, then set all that
# start-up built aside from the cyclic garbage collector: it lives as long as the process, and
# without this each full collection walks it again, which costs a request that makes many
# objects (ORM queries, templates) about a tenth of its CPU.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
