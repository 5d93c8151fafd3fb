FROM hugomods/hugo:exts AS builder
ARG HUGO_BASEURL=https://example.com/
ARG HUGO_ENV=production
ENV HUGO_ENVIRONMENT=${HUGO_ENV}
WORKDIR /src
COPY . /src
RUN hugo --minify --gc --baseURL "${HUGO_BASEURL}"

FROM nginx:1.27-alpine
COPY --from=builder /src/public /usr/share/nginx/html
COPY nginx/default.conf /etc/nginx/conf.d/default.conf
EXPOSE 80
