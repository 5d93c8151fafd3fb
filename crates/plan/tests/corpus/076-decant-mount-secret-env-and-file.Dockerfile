# syntax=docker/dockerfile:1
FROM python:3.12-slim
RUN pip install awscli
RUN --mount=type=secret,id=aws,target=/root/.aws/credentials \
    aws s3 cp s3://example-bucket/model.bin /opt/model.bin
RUN --mount=type=secret,id=API_TOKEN,env=API_TOKEN \
    curl -fsS -H "Authorization: Bearer $API_TOKEN" https://api.example.com/bootstrap > /opt/bootstrap.json
RUN --mount=type=secret,id=netrc,target=/root/.netrc,required=true,mode=0400 \
    pip download --no-deps private-package -d /opt/wheels
