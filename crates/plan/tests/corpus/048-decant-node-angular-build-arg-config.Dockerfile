FROM node:lts AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ARG CONFIGURATION=production
RUN npm run build -- --configuration=$CONFIGURATION --output-path=dist/out

FROM nginxinc/nginx-unprivileged:1.27-alpine
COPY --from=build /app/dist/out/browser /usr/share/nginx/html
COPY --chown=101:101 nginx/templates /etc/nginx/templates
USER 101
EXPOSE 8080
