FROM python:3.12-alpine AS builder
RUN apk add --no-cache build-base libffi-dev
WORKDIR /install
COPY requirements.txt /requirements.txt
RUN pip install --prefix=/install --no-cache-dir -r /requirements.txt

FROM python:3.12-alpine
COPY --from=builder /install /usr/local
WORKDIR /app
COPY ./app ./app
HEALTHCHECK NONE
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8080"]
