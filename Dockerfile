# Icerelay: the proxy, the built-in catalog and replication, the same program `npm start` runs.
#
#   docker build -t icerelay .
#   docker run -p 8181:8181 -v icerelay-data:/data icerelay
#   docker run -p 8181:8181 -v icerelay-data:/data -v "$PWD/icerelay.yaml:/config/icerelay.yaml:ro" \
#     -e ICERELAY_CONFIG=/config/icerelay.yaml -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY icerelay
#
# Settings: a configuration file mounted under /config (ICERELAY_CONFIG names it) and environment
# variables, which override the file (docs/configuration.md, docs/deployment.md). Other commands
# of a running container: docker exec <container> icerelay status

# --- build: production dependencies, with better-sqlite3's native module compiled -----------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# A compiler and Python for node-gyp, in this stage only. Debian's package versions are not pinned:
# the release's security updates replace them, and a pinned version would stop the build.
# hadolint ignore=DL3008
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime: Node and the application, no compiler ------------------------------------------------
FROM node:20-bookworm-slim
WORKDIR /app
# Listen on every interface of the container (the default, 127.0.0.1, is unreachable from outside);
# the SQLite database, the default warehouse and replicas go to the /data volume.
ENV NODE_ENV=production \
    ICERELAY_HOST=0.0.0.0 \
    ICERELAY_DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY spec ./spec
# `icerelay <command>` on the PATH; /data and /config owned by the user the server runs as.
RUN ln -s /app/bin/icerelay.js /usr/local/bin/icerelay \
  && mkdir -p /data /config \
  && chown 1000:1000 /data /config
# The image's `node` user, by number so that a runtime can check it is not root (runAsNonRoot).
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8181
# /healthz answers while the process serves requests; ICERELAY_PORT if the port was changed.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ICERELAY_PORT || 8181) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# What `npm start` runs (`tsx src/main.ts`), as one node process that receives SIGTERM itself.
CMD ["node", "--import", "tsx", "src/main.ts"]
