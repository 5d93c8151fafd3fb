FROM tinygo/tinygo:0.34.0 AS build
WORKDIR /src
COPY --chown=tinygo:tinygo . .
RUN tinygo build -o /tmp/plugin.wasm -scheduler=none -target=wasi ./plugin

FROM scratch AS export
COPY --from=build /tmp/plugin.wasm /
