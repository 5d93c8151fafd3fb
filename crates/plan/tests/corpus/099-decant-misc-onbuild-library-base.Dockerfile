FROM node:20-alpine
WORKDIR /app
ONBUILD ARG NPM_FLAGS=--omit=dev
ONBUILD COPY package*.json ./
ONBUILD RUN npm ci $NPM_FLAGS
ONBUILD COPY . .
ONBUILD RUN npm run build --if-present
CMD ["npm", "start"]
