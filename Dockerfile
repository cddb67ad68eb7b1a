# driftwatch in a container, for `driftwatch watch` (the default command) or any other command.
# Every command runs as the unprivileged user node, from /app, where what the commands write by
# default belongs to node: reports/ (reports, and the history in each --out folder), recordings/
# (record and proxy write the golden recordings, proxy its journal), contracts/openapi (import's
# drafts), and /data (watch's state). Mount a named volume to keep them (Docker gives a new named
# volume the folder's owner; a bind mount must be writable by uid 1000).
#   docker build -t driftwatch .
#   docker run --rm -v driftwatch-state:/data -p 127.0.0.1:9464:9464 \
#     -e WHATSAPP_ACCESS_TOKEN -e WHATSAPP_PHONE_NUMBER_ID -e WHATSAPP_WABA_ID \
#     driftwatch watch --target https://graph.facebook.com --state /data/state.db \
#       --metrics-port 9464 --metrics-host 0.0.0.0
#   docker run --rm -v driftwatch-reports:/app/reports driftwatch check --scenario media-chunked
#   docker run --rm -v "$PWD/captures:/captures:ro" -v driftwatch-reports:/app/reports driftwatch verify /captures/tonight.har
# See examples/watch/compose.yaml for a compose file.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 compiles itself when no prebuilt binary matches the platform: the toolchain stays
# in this stage, not in the image that runs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# The build needs TypeScript (a devDependency); the image gets dist/ and the runtime dependencies only.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PACT_DO_NOT_TRACK=true
# The code and the contracts stay root's: the user that runs cannot change what judges.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=deps /app/dist ./dist
COPY contracts ./contracts
# Read by check and verify, written by record and proxy (and proxy's journal, recordings/meta/.journal).
COPY --chown=node:node recordings ./recordings
# The folders the other commands write by default (suites/docker.test.ts checks each command's against this).
RUN mkdir -p /app/reports /app/contracts/openapi /data \
 && chown node:node /app/reports /app/contracts/openapi /data
USER node
VOLUME ["/data"]
EXPOSE 9464
# Healthy while cycles succeed; unhealthy when the breaker is open or no cycle finished lately.
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m \
  CMD node -e "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "bin/driftwatch.js"]
CMD ["watch", "--state", "/data/state.db", "--metrics-port", "9464", "--metrics-host", "0.0.0.0"]
