# Icerelay: the built-in Iceberg REST catalog, the same program `npm start` runs.
# Build: docker build -t icerelay .      Run: docker run -p 8181:8181 -v icerelay-data:/data icerelay

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native module here.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production ICERELAY_HOST=0.0.0.0 ICERELAY_PORT=8181 ICERELAY_DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8181
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+process.env.ICERELAY_PORT+'/v1/config').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/main.ts"]
