# syntax=docker/dockerfile:1

# Parley's images: one target per deployable (users, conversations, messages, presence, files, router, web)
# and `migrate`, which applies every subgraph's migrations. They share one build (the workspace, its
# dependencies, the generated Prisma clients and codegen output, every package's `build`: its TypeScript
# compiled to JavaScript in its dist/, and the web app's production build) and differ only in their working
# directory and command. Services run that JavaScript with plain node (`node dist/index.js`), not tsx:
# the TypeScript sources are what development runs (`npm start`, tests; docs/development.md).
#
#   docker build --target router -t parley-router .
#
# docker-compose.yml builds them all; .github/workflows/images.yml publishes them; deploy/README.md.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS base
# The npm of package.json's `packageManager`, which wrote package-lock.json.
ARG NPM_VERSION=11.19.1
RUN npm install --global npm@${NPM_VERSION} && npm cache clean --force
ENV TURBO_TELEMETRY_DISABLED=1 \
    NEXT_TELEMETRY_DISABLED=1 \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    npm_config_update_notifier=false
WORKDIR /app

# The package manifests alone: the dependency layer below is rebuilt when one of them changes, not on every
# source edit. Every workspace's package.json is needed for `npm ci`, whatever the workspaces are.
FROM base AS manifests
COPY . /src
RUN mkdir /manifests \
    && cd /src \
    && find . -name node_modules -prune -o \( -name package.json -o -name package-lock.json -o -name .npmrc \) -print \
    | xargs cp --parents --target-directory=/manifests

FROM base AS deps
COPY --from=manifests /manifests ./
# No dependency runs an install script, as on the development machines (npm 11 runs none it was not told
# to): the native packages (argon2, sharp, esbuild, next's swc) ship prebuilt binaries as optional
# dependencies, and Prisma's engine download is not wanted (scripts/prisma-generate.ts).
RUN npm ci --ignore-scripts

FROM deps AS build
COPY . .
# Every package's `build`, after the Prisma clients and codegen output it depends on (`generate`): `tsc`
# into each package's dist/ (tsconfig.build.json), and for the web app `next build` too.
RUN npx turbo run build --output-logs=errors-only \
    && rm -rf web/.next/cache \
    && find . -name node_modules -prune -o -name .turbo -type d -prune -exec rm -rf {} +

# What every target runs on: the build, owned by root and only readable by the `node` user that runs it.
FROM base AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
COPY --from=build /app ./
# Next.js keeps its runtime cache here; the rest of the tree stays read-only.
RUN mkdir -p web/.next/cache && chown node:node web/.next/cache
# Reads NAME from the file NAME_FILE names, for each such variable, then runs the command.
ENTRYPOINT ["/bin/sh", "/app/deploy/image/entrypoint.sh"]
# Every service runs the build of the entry point its `npm start` runs (src/index.ts; the web app's
# server/index.ts), from its own package (the targets below set WORKDIR).
CMD ["node", "dist/index.js"]
USER node

# Each service: its graph port, then its metrics port (METRICS_PORT, /metrics; for Prometheus, not clients).
FROM runtime AS users
WORKDIR /app/subgraphs/users
EXPOSE 4001 9401

FROM runtime AS conversations
WORKDIR /app/subgraphs/conversations
EXPOSE 4002 9402

FROM runtime AS messages
WORKDIR /app/subgraphs/messages
EXPOSE 4003 9403

FROM runtime AS presence
WORKDIR /app/subgraphs/presence
EXPOSE 4004 9404

FROM runtime AS files
WORKDIR /app/subgraphs/files
# 4006 serves signed blob URLs with FILES_STORAGE=local only; with s3, clients talk to the bucket.
EXPOSE 4005 4006 9405

FROM runtime AS router
WORKDIR /app/router
EXPOSE 4000 9400

FROM runtime AS web
WORKDIR /app/web
EXPOSE 3000

FROM runtime AS migrate
WORKDIR /app
CMD ["/bin/sh", "deploy/image/migrate.sh"]
