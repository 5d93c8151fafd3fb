FROM alpine:3.20

ENV NODE_VERSION 22.12.0

RUN addgroup -g 1000 node \
	&& adduser -u 1000 -G node -s /bin/sh -D node \
	&& apk add --no-cache \
		libstdc++ \
	&& apk add --no-cache --virtual .build-deps \
		curl \
	&& ARCH= OPENSSL_ARCH='linux*' && alpineArch="$(apk --print-arch)" \
	  && case "${alpineArch##*-}" in \
		x86_64) ARCH='x64' ;; \
		aarch64) ARCH='arm64' ;; \
		*) ;; \
	  esac \
	&& curl -fsSLO --compressed "https://unofficial-builds.nodejs.org/download/release/v$NODE_VERSION/node-v$NODE_VERSION-linux-$ARCH-musl.tar.xz" \
	&& tar -xJf "node-v$NODE_VERSION-linux-$ARCH-musl.tar.xz" -C /usr/local --strip-components=1 --no-same-owner \
	&& ln -s /usr/local/bin/node /usr/local/bin/nodejs \
	&& rm -f "node-v$NODE_VERSION-linux-$ARCH-musl.tar.xz" \
	&& apk del .build-deps \
	# smoke tests
	&& node --version \
	&& npm --version

ENV YARN_VERSION 1.22.22

RUN apk add --no-cache --virtual .build-deps-yarn curl gnupg tar \
	&& curl -fsSLO --compressed "https://yarnpkg.com/downloads/$YARN_VERSION/yarn-v$YARN_VERSION.tar.gz" \
	&& mkdir -p /opt \
	&& tar -xzf yarn-v$YARN_VERSION.tar.gz -C /opt/ \
	&& ln -s /opt/yarn-v$YARN_VERSION/bin/yarn /usr/local/bin/yarn \
	&& rm yarn-v$YARN_VERSION.tar.gz \
	&& apk del .build-deps-yarn \
	&& yarn --version

COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]

CMD [ "node" ]
