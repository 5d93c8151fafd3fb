FROM alpine:3.20
ARG BUILD_DATE
ARG VCS_REF
ARG VERSION=0.0.0
LABEL org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.title="widget" \
      org.opencontainers.image.description="A widget, with \"quotes\" and spaces" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://example.com/widget.git"
COPY widget /usr/local/bin/widget
ENTRYPOINT ["widget"]
