FROM golang:1.23-bookworm AS builder
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libsqlite3-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -tags "sqlite_omit_load_extension" -o notes ./cmd/notes

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libsqlite3-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/notes notes
COPY --from=builder /build/notes /usr/local/bin/notes
USER notes
VOLUME ["/var/lib/notes"]
ENV NOTES_DB=/var/lib/notes/notes.db
EXPOSE 8080/tcp
ENTRYPOINT ["notes"]
CMD ["serve", "--addr", ":8080"]
