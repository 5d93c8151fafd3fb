FROM busybox
COPY --form=builder /a /b
