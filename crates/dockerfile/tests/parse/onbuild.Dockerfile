FROM busybox
ONBUILD RUN echo triggered
ONBUILD COPY --from=build /a /b
onbuild run <<EOF
echo heredoc trigger
EOF
