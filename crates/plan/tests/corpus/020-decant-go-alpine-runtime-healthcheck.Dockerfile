FROM golang:1.23 AS build
WORKDIR /go/src/app
COPY . .
RUN go vet -v ./...
RUN go test -v ./...
RUN CGO_ENABLED=0 go build -o /go/bin/app

FROM alpine:3.20
RUN apk --no-cache add ca-certificates curl \
    && addgroup -S app && adduser -S app -G app
WORKDIR /home/app
COPY --from=build --chown=app:app /go/bin/app ./app
USER app
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -f http://localhost:3000/healthz || exit 1
CMD ["./app"]
