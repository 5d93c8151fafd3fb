ARG UNUSED_GLOBAL=nothing
FROM alpine:3.20 AS first
RUN echo "before: [$LATE]" > /before
ARG LATE=now-defined
RUN echo "after: [$LATE]" > /after
ARG LATE=redefined
RUN echo "again: [$LATE]" >> /after

FROM alpine:3.20 AS unused
ARG SOMETHING=ignored
RUN echo "this stage is not needed by the default target"

FROM first
ARG UNUSED_GLOBAL
RUN cat /before /after && echo "global: $UNUSED_GLOBAL"
