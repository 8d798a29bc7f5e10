# syntax=docker/dockerfile:1
# Build stage: compile TypeScript and better-sqlite3, then drop dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm ci builds through the prepare script, then dev dependencies go.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Runtime stage: production dependencies and the build only, as the unprivileged node user.
FROM node:20-bookworm-slim
# Memory (docs/benchmarks.md): a smaller young generation, an old generation collected
# before it passes 128 MB (the bridge's live heap is a third of that at 100,000 users;
# raise it with BODY_LIMIT_BYTES past its 4 MB default), and glibc handing freed native
# memory back instead of keeping it per arena.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=128 --disable-proto=throw" \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The CLI on the PATH, as the README types it: `docker exec <container> fullstory-scim-bridge holds`.
RUN mkdir -p /data && chown node:node /data \
 && chmod +x dist/cli/index.js && ln -s /app/dist/cli/index.js /usr/local/bin/fullstory-scim-bridge
USER node
VOLUME ["/data"]
EXPOSE 8080
# Liveness only; readiness (/readyz) is for the orchestrator's traffic decisions.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const m=require(process.env.TLS_CERT_FILE?'https':'http');m.get({host:'127.0.0.1',port:process.env.PORT||8080,path:'/healthz',rejectUnauthorized:false,timeout:2500},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
# NODE_ENV=production: without FULLSTORY_SCIM_TOKEN the bridge refuses to start,
# unless FULLSTORY_SANDBOX=true asks for the built-in sandbox explicitly.
ENTRYPOINT ["fullstory-scim-bridge"]
CMD ["serve"]
