# Hearth as a container image, for the replicas of compose.yaml (PostgreSQL for keys and usage, Redis for rate
# limits, nginx in front; deploy/nginx.conf). This file describes the deployment; the tested path is
# scripts/cluster.sh, which runs the same parts as local processes from Debian's packages.
#
#   docker build -t hearth .
#   docker run --rm -p 8434:8434 -v hearth-models:/models hearth serve /models/MODEL.gguf --host 0.0.0.0 --auth ...

# Build stage: the WebAssembly kernels and the web UI need the devDependencies (AssemblyScript, esbuild).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node scripts/build.js

# Runtime stage: production dependencies, the sources (run by Node 24's type stripping) and what the build made.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HEARTH_HOME=/data HEARTH_MODELS=/models
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY --from=build /app/build ./build
RUN useradd --system --home /data hearth && mkdir -p /data /models && chown hearth /data /models
USER hearth
VOLUME ["/data", "/models"]
EXPOSE 8434
ENTRYPOINT ["node", "bin/hearth.js"]
CMD ["serve", "--host", "0.0.0.0"]
