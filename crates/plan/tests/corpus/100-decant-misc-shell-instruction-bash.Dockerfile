FROM debian:bookworm-slim
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN echo "pipefail is $(set -o | grep pipefail)" | tee /pipefail.txt
SHELL ["/bin/sh", "-c"]
RUN echo "back to sh"
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
ENTRYPOINT echo "started with $0"
CMD echo "this CMD is ignored by a shell-form ENTRYPOINT"
