FROM rust:1.83 AS build
ENV SQLX_OFFLINE=true
WORKDIR /app
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim AS runtime
ARG PORT=3000
RUN apt-get update -y \
    && apt-get install -y --no-install-recommends openssl ca-certificates \
    && apt-get autoremove -y \
    && apt-get clean -y \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/target/release/api api
COPY --from=build /app/migrations migrations
COPY configuration configuration
ENV APP_ENVIRONMENT=production \
    APP_PORT=${PORT}
EXPOSE ${PORT}
ENTRYPOINT ["./api"]
