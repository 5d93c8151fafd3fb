FROM golang:1.22-alpine AS builder

RUN apk add --no-cache ca-certificates git tzdata \
 && adduser -D -g '' -u 10001 appuser

WORKDIR /app
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .

ARG VERSION=dev
ARG COMMIT=none
RUN CGO_ENABLED=0 GOOS=linux go build \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /go/bin/app ./cmd/app

FROM scratch
COPY --from=builder /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=builder /etc/passwd /etc/passwd
COPY --from=builder /go/bin/app /go/bin/app
USER 10001
ENTRYPOINT ["/go/bin/app"]
