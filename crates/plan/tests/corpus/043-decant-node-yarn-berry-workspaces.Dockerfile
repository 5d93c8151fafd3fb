FROM node:20-bookworm-slim AS builder
WORKDIR /repo
RUN corepack enable
COPY .yarnrc.yml package.json yarn.lock ./
COPY .yarn ./.yarn
COPY packages/api/package.json packages/api/
COPY packages/shared/package.json packages/shared/
RUN yarn workspaces focus @acme/api
COPY packages/ packages/
RUN yarn workspace @acme/api build

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /srv
COPY --from=builder --chown=node:node /repo/node_modules ./node_modules
COPY --from=builder --chown=node:node /repo/packages/api/dist ./dist
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/index.js"]
