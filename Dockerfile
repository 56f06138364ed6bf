# gangway on the official Bun image, as a non-root user.
#   docker build -t gangway .
#   docker run -p 8080:8080 -v $PWD/config/quickstart:/etc/gangway/config:ro gangway
FROM oven/bun:1.4.4-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts

FROM oven/bun:1.4.4-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY workers ./workers
COPY config ./config
RUN mkdir -p /etc/gangway/config /etc/gangway/secrets && chown -R bun:bun /etc/gangway
USER bun
EXPOSE 8080 8443 15021
HEALTHCHECK --interval=5s --timeout=2s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:15021/healthz/ready').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["bun", "src/main.ts"]
CMD ["--config", "/etc/gangway/config", "--secrets-dir", "/etc/gangway/secrets", "--port-map", "80:8080,443:8443", "--admin", "0.0.0.0:15021"]
