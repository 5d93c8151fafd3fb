# syntax=docker/dockerfile:1
FROM alpine:3.20
RUN <<FILE1 cat > /file1 && <<FILE2 cat > /file2
I am
first
FILE1
I am
second
FILE2
RUN cat /file1 /file2
