# syntax=docker/dockerfile:1
FROM python:3.12-slim
WORKDIR /srv
COPY requirements.txt .
RUN --mount=type=secret,id=pip_index_url,required=true \
    --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    PIP_INDEX_URL="$(cat /run/secrets/pip_index_url)" pip install -r requirements.txt
COPY src/ ./src/
ENV PYTHONPATH=/srv/src
CMD ["python", "-m", "service"]
