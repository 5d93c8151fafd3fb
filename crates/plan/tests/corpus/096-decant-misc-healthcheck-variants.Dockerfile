FROM nginx:1.27
HEALTHCHECK --interval=5m --timeout=3s \
  CMD curl -f http://localhost/ || exit 1
HEALTHCHECK --interval=30s --timeout=10s --start-period=1m --start-interval=2s --retries=5 \
  CMD ["curl", "-fsS", "http://localhost/healthz"]
STOPSIGNAL SIGTERM
