# syntax=docker/dockerfile:1
FROM nginx:alpine
ARG SERVER_NAME=example.test
COPY <<EOF /etc/nginx/conf.d/default.conf
server {
    listen 80;
    server_name ${SERVER_NAME};
    location / {
        root /usr/share/nginx/html;
    }
}
EOF
COPY <<"EOT" /usr/local/bin/healthcheck
#!/bin/sh
wget -qO- http://127.0.0.1/ > /dev/null || exit 1
echo "ok: $HOSTNAME"
EOT
COPY <<index.html <<robots.txt /usr/share/nginx/html/
<!doctype html><title>hello</title><p>hello from decant</p>
index.html
User-agent: *
Disallow: /
robots.txt
RUN chmod +x /usr/local/bin/healthcheck
HEALTHCHECK CMD ["/usr/local/bin/healthcheck"]
