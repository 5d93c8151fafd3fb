# syntax=docker/dockerfile:1
FROM ubuntu:24.04
COPY --chmod=755 <<EOF /usr/local/bin/entrypoint.sh
#!/usr/bin/env bash
set -euo pipefail
if [[ "\${1:-}" == "shell" ]]; then
  exec bash
fi
exec "\$@"
EOF
RUN /usr/local/bin/entrypoint.sh true
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["sleep", "infinity"]
