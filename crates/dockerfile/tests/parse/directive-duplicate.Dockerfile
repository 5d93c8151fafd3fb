# escape=\
# escape=`
FROM busybox
