FROM alpine:3.20

LABEL maintainer="NGINX Docker Maintainers <docker-maint@nginx.com>"

ENV NGINX_VERSION 1.27.3
ENV PKG_RELEASE   1
ENV DYNPKG_RELEASE   1

RUN set -x \
# create nginx user/group first, to be consistent throughout docker variants
	&& addgroup -g 101 -S nginx \
	&& adduser -S -D -H -u 101 -h /var/cache/nginx -s /sbin/nologin -G nginx -g nginx nginx \
	&& apkArch="$(cat /etc/apk/arch)" \
	&& nginxPackages=" \
		nginx=${NGINX_VERSION}-r${PKG_RELEASE} \
	" \
# install prerequisites for public key and pkg-oss checks
	&& apk add --no-cache --virtual .checksum-deps \
		openssl \
	&& case "$apkArch" in \
		x86_64|aarch64) \
# arches officially built by upstream
			apk add -X "https://nginx.org/packages/mainline/alpine/v$(egrep -o '^[0-9]+\.[0-9]+' /etc/alpine-release)/main" --no-cache $nginxPackages \
			;; \
		*) \
			echo >&2 "unsupported architecture: $apkArch"; exit 1 \
			;; \
	esac \
# remove checksum deps
	&& apk del --no-network .checksum-deps \
# Bring in gettext so we can get `envsubst`, then throw
# the rest away.
	&& apk add --no-cache --virtual .gettext gettext \
	&& mv /usr/bin/envsubst /tmp/ \
	&& runDeps="$( \
		scanelf --needed --nobanner /tmp/envsubst \
			| awk '{ gsub(/,/, "\nso:", $2); print "so:" $2 }' \
			| sort -u \
			| xargs -r apk info --installed \
			| sort -u \
	)" \
	&& apk add --no-cache $runDeps \
	&& apk del --no-network .gettext \
	&& mv /tmp/envsubst /usr/local/bin/ \
# forward request and error logs to docker log collector
	&& ln -sf /dev/stdout /var/log/nginx/access.log \
	&& ln -sf /dev/stderr /var/log/nginx/error.log \
# create a docker-entrypoint.d directory
	&& mkdir /docker-entrypoint.d

COPY docker-entrypoint.sh /
COPY 10-listen-on-ipv6-by-default.sh /docker-entrypoint.d
COPY 20-envsubst-on-templates.sh /docker-entrypoint.d
COPY 30-tune-worker-processes.sh /docker-entrypoint.d
ENTRYPOINT ["/docker-entrypoint.sh"]

EXPOSE 80

STOPSIGNAL SIGQUIT

CMD ["nginx", "-g", "daemon off;"]
