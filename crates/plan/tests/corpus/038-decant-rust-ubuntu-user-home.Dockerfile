FROM rust:1.83 AS build
WORKDIR /usr/src/rg
COPY . .
RUN cargo install --path . --locked

FROM ubuntu:24.04
RUN useradd --create-home --shell /bin/bash runner
ENV HOME=/home/runner
ENV PATH=$HOME/.local/bin:$PATH
COPY --from=build /usr/local/cargo/bin/rg $HOME/.local/bin/rg
USER runner
WORKDIR $HOME
ENTRYPOINT rg --version && exec rg "$@"
