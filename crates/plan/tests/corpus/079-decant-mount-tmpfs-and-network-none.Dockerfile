# syntax=docker/dockerfile:1
FROM node:20-alpine
WORKDIR /app
COPY package*.json ./
RUN --network=host npm ci
COPY . .
RUN --network=none --mount=type=tmpfs,target=/tmp,size=256m npm test
RUN --mount=type=tmpfs,target=/root/.cache npm run build
CMD ["node", "dist/index.js"]
