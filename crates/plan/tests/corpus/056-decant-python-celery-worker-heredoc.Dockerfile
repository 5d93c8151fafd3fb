# syntax=docker/dockerfile:1
FROM python:3.12-slim
ARG CELERY_QUEUE=default
RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends libpq5
rm -rf /var/lib/apt/lists/*
useradd --system --home /app celery
EOF
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY <<EOF /app/celeryconfig.py
broker_url = "redis://redis:6379/0"
task_default_queue = "${CELERY_QUEUE}"
worker_prefetch_multiplier = 1
EOF
COPY . .
USER celery
CMD ["celery", "-A", "tasks", "worker", "--loglevel=INFO"]
