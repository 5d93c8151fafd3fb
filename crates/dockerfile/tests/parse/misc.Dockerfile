from busybox
Workdir /a b
USER app:app
STOPSIGNAL SIGTERM
MAINTAINER Jane <jane@example.com>
EXPOSE 80/tcp 443 8000-8002
