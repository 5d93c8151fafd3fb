FROM busybox
COPPY a b
