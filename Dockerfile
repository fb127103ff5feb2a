# One image for every process of the platform: web (gunicorn), Celery worker and Celery beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 1000 cem \
 && useradd --system --uid 1000 --gid cem --home-dir /app --no-create-home cem

WORKDIR /app

# Chromium and the CJK fonts print the PDF reports (docs/reports.md); Debian's packages, never
# a browser downloaded by Playwright.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, pinned by the lock file, so a code change does not reinstall them.
# pyproject.toml declares no packages: `pip install .` brings the dependencies only.
COPY pyproject.toml README.md requirements.lock ./
RUN pip install -c requirements.lock . && rm -rf build *.egg-info

COPY . .

# Hashed, compressed static files (whitenoise) are built into the image; settings need no
# secrets or services for this. var/ is where beat keeps its schedule and var/media/ the
# exports: the one place the non-root user writes.
RUN CEM_MANIFEST_STATIC=1 python manage.py collectstatic --noinput -v0 \
 && mkdir -p var/media && chown -R cem:cem var

ENV CEM_MANIFEST_STATIC=1
USER cem
EXPOSE 8000

CMD ["gunicorn", "cem.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
