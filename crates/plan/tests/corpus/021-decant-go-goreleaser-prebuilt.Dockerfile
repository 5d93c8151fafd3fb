FROM alpine:3.20
ARG TARGETPLATFORM
RUN apk add --no-cache ca-certificates
COPY $TARGETPLATFORM/mytool /usr/bin/mytool
ENTRYPOINT ["/usr/bin/mytool"]
