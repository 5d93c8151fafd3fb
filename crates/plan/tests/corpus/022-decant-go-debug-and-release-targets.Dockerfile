FROM golang:1.23 AS base
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.* ./
RUN go mod download

FROM base AS dev
RUN go install github.com/air-verse/air@latest
COPY . .
CMD air -c .air.toml

FROM base AS test
COPY . .
RUN go test ./... -count=1

FROM base AS build
COPY . .
RUN go build -o /out/svc ./cmd/svc

FROM gcr.io/distroless/base-debian12 AS release
COPY --from=build /out/svc /svc
ENTRYPOINT ["/svc"]
