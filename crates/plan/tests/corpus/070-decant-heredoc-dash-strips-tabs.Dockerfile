# syntax=docker/dockerfile:1
FROM alpine:3.20
RUN <<-EOF sh -ex
	apk add --no-cache bash
	bash --version
	EOF
RUN cat <<EOF > /etc/motd && cat /etc/motd
Welcome to the build container.
EOF
CMD ["sh"]
