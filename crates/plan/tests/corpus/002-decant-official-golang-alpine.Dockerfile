FROM alpine:3.20 AS build

ENV PATH /usr/local/go/bin:$PATH
ENV GOLANG_VERSION 1.23.4

RUN set -eux; \
	apk add --no-cache --virtual .fetch-deps \
		ca-certificates \
		gnupg \
		tar \
	; \
	apkArch="$(apk --print-arch)"; \
	case "$apkArch" in \
		'x86_64') url='https://dl.google.com/go/go1.23.4.linux-amd64.tar.gz' ;; \
		'aarch64') url='https://dl.google.com/go/go1.23.4.linux-arm64.tar.gz' ;; \
		*) echo >&2 "error: unsupported architecture '$apkArch'"; exit 1 ;; \
	esac; \
	wget -O go.tgz "$url"; \
	mkdir -p /target/usr/local; \
	tar -C /target/usr/local -xzf go.tgz; \
	rm go.tgz; \
	apk del --no-network .fetch-deps

FROM alpine:3.20

RUN apk add --no-cache ca-certificates

ENV GOLANG_VERSION 1.23.4
ENV GOTOOLCHAIN=local
ENV GOPATH /go
ENV PATH $GOPATH/bin:/usr/local/go/bin:$PATH
COPY --from=build --link /target/ /
RUN mkdir -p "$GOPATH/src" "$GOPATH/bin" && chmod -R 1777 "$GOPATH"
WORKDIR $GOPATH
