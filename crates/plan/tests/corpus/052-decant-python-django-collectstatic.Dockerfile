FROM python:3.12-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libpq-dev gettext \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 1000 django && useradd --uid 1000 --gid django --create-home django

WORKDIR /app
COPY requirements/ requirements/
RUN pip install -r requirements/production.txt

COPY --chown=1000:1000 . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && python manage.py compilemessages

COPY --chmod=0755 docker/entrypoint.sh /entrypoint.sh
USER 1000:1000
EXPOSE 8000
ENTRYPOINT ["/entrypoint.sh"]
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
