# One image for every kurative function; FUNCTION_TARGET chooses which (scrape, score, rca, policy, act).
# Runs as a non-root user on a read-only root filesystem (nothing is written at run time).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs scripts/
COPY functions functions
COPY shared shared
COPY triggers triggers
COPY broker broker
COPY sandbox sandbox
COPY cli cli
RUN npm run build --silent

FROM node:20-bookworm-slim AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
# The bundle carries every dependency but functions-framework (its CLI and the bundle share one
# registry), so the runtime needs only production modules, without install scripts.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# of-watchdog for OpenFaaS (HTTP mode); unused on Knative.
FROM ghcr.io/openfaas/of-watchdog:0.10.7 AS watchdog

FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    mode=http \
    upstream_url=http://127.0.0.1:8081 \
    exec_timeout=60s
COPY --from=watchdog /fwatchdog /fwatchdog
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /src/dist/bundle ./dist/bundle
COPY package.json ./
COPY scripts/container-entry.mjs ./entry.mjs
USER nonroot
EXPOSE 8080
HEALTHCHECK NONE
CMD ["/app/entry.mjs"]
