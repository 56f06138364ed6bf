# gangway on the Bun image, as the non-root `bun` user (uid 1000).
#
#   docker build -t gangway .                     # FROM oven/bun:1.4.4-slim
#   docker build --build-arg BUN_IMAGE=my.registry/bun:1.4.4 -t gangway .
#
#   docker run -p 8080:8080 -p 127.0.0.1:15021:15021 \
#     -v $PWD/config/backends:/etc/gangway/config/backends:ro \
#     -v $PWD/config/walkthrough/01-http-gateway:/etc/gangway/config/gateway:ro gangway
#
# Mount real folders: a folder of symlinks (config/quickstart) dangles inside the
# container, and the gateway warns that it found no resources (GW0007, GW0008).
# The image holds no configuration and no private key: config/ is not copied.
#
# Ports: 8080/8443 traffic (Gateway ports 80/443), 15021 status (/healthz/ready,
# safe to publish), 15090 Prometheus (/stats/prometheus), admin on 127.0.0.1:15000
# inside the container only.
ARG BUN_IMAGE=oven/bun:1.4.4-slim

FROM ${BUN_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts --frozen-lockfile

FROM ${BUN_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY schemas ./schemas
RUN mkdir -p /etc/gangway/config /etc/gangway/secrets && chown -R bun:bun /etc/gangway
USER bun
EXPOSE 8080 8443 15021 15090
HEALTHCHECK --interval=5s --timeout=2s --start-period=10s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:15021/healthz/ready').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["bun", "src/main.ts"]
CMD ["--config", "/etc/gangway/config", "--secrets-dir", "/etc/gangway/secrets", "--port-map", "80:8080,443:8443", \
     "--admin", "127.0.0.1:15000", "--status-port", "0.0.0.0:15021", "--metrics-port", "0.0.0.0:15090"]
