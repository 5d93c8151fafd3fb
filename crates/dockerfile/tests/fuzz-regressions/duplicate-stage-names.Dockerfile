FROM alpine AS a
FROM a AS b
FROM b AS a
COPY --from=a / /
