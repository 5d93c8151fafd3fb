FROM alpine:3.20
ENV DATA_DIR=/var/lib/app
RUN mkdir -p $DATA_DIR /var/log/app /cache && chown -R 1000:1000 $DATA_DIR /var/log/app /cache
VOLUME ["/var/lib/app", "/var/log/app"]
VOLUME /cache /tmp/scratch
VOLUME $DATA_DIR/extra
USER 1000
CMD ["sleep", "3600"]
