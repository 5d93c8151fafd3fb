# syntax=docker/dockerfile:1
FROM golang:1.23-alpine AS build
RUN apk add --no-cache git openssh-client
ENV GOPRIVATE=github.com/example-org/*
RUN mkdir -p -m 0700 ~/.ssh && ssh-keyscan github.com >> ~/.ssh/known_hosts \
 && git config --global url."git@github.com:".insteadOf "https://github.com/"
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=ssh go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build go build -o /bin/api ./cmd/api

FROM alpine:3.20
COPY --from=build /bin/api /bin/api
CMD ["/bin/api"]
