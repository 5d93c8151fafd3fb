FROM alpine
RUN <<EOF
echo never terminated
