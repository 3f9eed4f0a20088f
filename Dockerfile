# Build stage: compile TypeScript with the dev dependencies, then drop them.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
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
ENV NODE_ENV=production \
    HERALD_HOST=0.0.0.0 \
    HERALD_PORT=6001 \
    HERALD_APPS_FILE=/app/apps.json
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json apps.json ./
USER node
EXPOSE 6001 9601
# The image has no curl; Node's own fetch asks /health.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HERALD_PORT || 6001) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful stop; give `docker stop -t` more than --shutdown-grace.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
