FROM alpine:3.20
RUN apk add --no-cache bash \
    && echo crlf
ENV GREETING=hello
CMD ["sh", "-c", "echo $GREETING"]
