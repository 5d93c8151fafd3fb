FROM busybox
RUN <<EOF
echo never ends
EOF2
