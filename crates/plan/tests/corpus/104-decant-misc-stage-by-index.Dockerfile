FROM alpine:3.20
RUN echo "artifact" > /artifact.txt

FROM golang:1.23-alpine AS tools
RUN go install golang.org/x/tools/cmd/stringer@v0.27.0

FROM alpine:3.20
COPY --from=0 /artifact.txt /artifact.txt
COPY --from=1 /go/bin/stringer /usr/local/bin/stringer
COPY --from=tools /go/bin/stringer /usr/local/bin/stringer-again
