# Parley in a container: builds the TypeScript, keeps data and certificates in volumes.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY types ./types
COPY server ./server
COPY modules ./modules
COPY test ./test
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schema ./schema
COPY docker/parley.yml /etc/parley/parley.yml
RUN mkdir -p /var/lib/parley /etc/parley/certs && chown -R node:node /var/lib/parley /etc/parley/certs
VOLUME ["/var/lib/parley", "/etc/parley/certs"]
EXPOSE 5222 5223 5280
USER node
CMD ["node", "--max-semi-space-size=32", "bin/parley.js", "start", "--config", "/etc/parley/parley.yml"]
