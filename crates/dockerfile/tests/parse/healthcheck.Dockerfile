FROM busybox
HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=5s --start-interval=2s --retries=3 CMD ["curl", "-f", "http://localhost"]
HEALTHCHECK CMD curl -f http://localhost || exit 1
HEALTHCHECK NONE
