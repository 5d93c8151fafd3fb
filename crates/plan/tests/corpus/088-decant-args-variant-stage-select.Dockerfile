ARG VARIANT=slim

FROM debian:bookworm-slim AS stage-slim
RUN echo "slim" > /variant

FROM debian:bookworm AS stage-full
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
 && echo "full" > /variant

FROM stage-${VARIANT} AS final
ARG VARIANT
LABEL org.opencontainers.image.description="variant ${VARIANT}"
CMD ["cat", "/variant"]
