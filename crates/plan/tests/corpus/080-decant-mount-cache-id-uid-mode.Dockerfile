# syntax=docker/dockerfile:1
FROM python:3.12-slim AS seed
RUN mkdir -p /seed && pip download --dest /seed wheel setuptools

FROM python:3.12-slim
RUN useradd --uid 1234 --create-home builder
USER builder
WORKDIR /home/builder
RUN --mount=type=cache,id=pip-builder,target=/home/builder/.cache/pip,uid=1234,gid=1234,mode=0755 \
    --mount=type=cache,id=seed,target=/seed,from=seed,source=/seed \
    pip install --user --find-links /seed wheel
