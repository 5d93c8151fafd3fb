FROM --platform=$BUILDPLATFORM golang:1.22 AS Build
FROM build as second
FROM scratch
