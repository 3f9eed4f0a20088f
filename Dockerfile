# Build stage: compile TypeScript with the dev dependencies, then drop them.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY web ./web
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev
# uWebSockets.js ships binaries for every platform (over 100 MB); keep only the one
# this image's Node loads. Herald refuses to start if that one cannot load.
RUN keep="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node" \
 && find node_modules/uWebSockets.js -name '*.node' ! -path "*/binaries/$keep" -delete \
 && rm -rf node_modules/uWebSockets.js/docs \
 && test -f "node_modules/uWebSockets.js/binaries/$keep"

# Run stage: production dependencies and the compiled server, as an unprivileged user.
FROM node:20-bookworm-slim
# No apps file is shipped (the demo app's secret is public): mount /app/apps.json, or
# give one app with HERALD_APP_ID, HERALD_APP_KEY and HERALD_APP_SECRET. With neither,
# Herald stops at once and says so.
ENV NODE_ENV=production \
    HERALD_HOST=0.0.0.0 \
    HERALD_PORT=6001
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER node
EXPOSE 6001 9601
# `herald health` reads the server's own command line and environment (PID 1), so it
# asks /health on the port actually in use, over https when TLS is on.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["node", "dist/cli.js", "health"]
# SIGTERM starts the graceful stop; give `docker stop -t` more than --shutdown-grace.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
