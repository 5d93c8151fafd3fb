FROM alpine:3.20 AS s1
RUN echo 1 > /s1
FROM s1 AS s2
RUN echo 2 > /s2
FROM s2 AS s3
RUN echo 3 > /s3
FROM s3 AS s4
COPY --from=s2 /s2 /copied-s2
RUN echo 4 > /s4
FROM s4 AS s5
RUN cat /s1 /s2 /s3 /s4 /copied-s2
FROM scratch AS out
COPY --from=s5 / /
