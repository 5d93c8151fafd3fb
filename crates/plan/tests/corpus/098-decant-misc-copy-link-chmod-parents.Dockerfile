# syntax=docker/dockerfile:1.7-labs
FROM alpine:3.20
COPY --link --chmod=0644 configs/*.yaml /etc/app/
COPY --parents ./services/*/config.json /srv/
COPY --exclude=*.md --exclude=**/testdata docs-src/ /usr/share/doc/app/
COPY --link --chown=1000:1000 --chmod=755 bin/ /usr/local/bin/
