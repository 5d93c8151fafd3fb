FROM rust:1.83 AS builder
RUN rustup target add wasm32-unknown-unknown && cargo install --locked trunk wasm-bindgen-cli
WORKDIR /usr/src/frontend
COPY . .
RUN trunk build --release

FROM nginx:alpine
COPY --from=builder /usr/src/frontend/dist /usr/share/nginx/html
COPY nginx.conf /etc/nginx/nginx.conf
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
