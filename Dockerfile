# rolegate container image, named rolegate:<package.json version> everywhere
# (scripts/build-image.sh, docker-compose.yml, the Helm chart's appVersion).
#   scripts/build-image.sh                          # tags rolegate:<version>, labels the git commit
#   docker build -t rolegate:<version> --build-arg ROLEGATE_REVISION="$(git rev-parse HEAD)" .
# Pushing it to a registry such as ECR: docs/eks.md, step 1.
# NODE_IMAGE is the base of both stages. It defaults to the official image of
# the Node major pinned in .ci/versions (a unit test keeps the two in step);
# scripts/build-node-base-image.sh builds a stand-in (rolegate-node:local) from
# the pinned node and npm where no registry is reachable.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Only where the npm registry is reached through a TLS-intercepting proxy:
# scripts/build-image.sh then adds that proxy's CA to the build context as
# .npm-extra-ca.pem and passes NODE_EXTRA_CA_CERTS=/app/.npm-extra-ca.pem.
# Both stay in this stage; the runtime stage never sees them. NPM_CONFIG_REGISTRY
# picks another registry; HTTP(S)_PROXY are Docker's predefined build args.
ARG NODE_EXTRA_CA_CERTS
ARG NPM_CONFIG_REGISTRY
COPY package.json package-lock.json .npm-extra-ca.pe[m] ./
# No install scripts: none is needed to build or run rolegate (they belong to
# optional test tooling), and none then needs compilers in the image.
RUN npm ci --ignore-scripts --no-audit --no-fund
# Only the service is compiled (tsconfig.image.json: src/); benchmarks and
# their test harness imports stay out of the image and its build.
COPY tsconfig.json tsconfig.build.json tsconfig.image.json ./
COPY src ./src
RUN npx tsc -p tsconfig.image.json && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
WORKDIR /app
# In a container the listeners must answer on the pod or container address,
# not its loopback (kubelet probes, other containers). Host-network setups
# such as docker-compose.yml set 127.0.0.1 back.
ENV NODE_ENV=production ROLEGATE_LISTEN_HOST=0.0.0.0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY bin ./bin
COPY proto ./proto
COPY examples ./examples
# The official image's non-root user (uid 1000); the local base image has it too.
USER node
EXPOSE 9001 9002
# OCI annotations, read by `docker image inspect` and registries. The version
# is package.json's (a unit test keeps this default equal to it); the
# revision is the git commit the image was built from, passed by
# scripts/build-image.sh. Declared in this stage only, so a new commit does
# not invalidate the cached build stage.
ARG ROLEGATE_VERSION=0.1.0
ARG ROLEGATE_REVISION=unknown
LABEL org.opencontainers.image.title="rolegate" \
      org.opencontainers.image.description="Envoy external authorization service that enforces AWS IAM roles and policies on your own HTTP APIs" \
      org.opencontainers.image.source="https://github.com/rolegate/rolegate" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${ROLEGATE_VERSION}" \
      org.opencontainers.image.revision="${ROLEGATE_REVISION}"
# Exec form, no shell: the image runs where /bin/sh is absent or masked
# (test/e2e/deploy-container.test.ts runs it so, read-only and as uid 1000).
# The GC flags of src/serve/worker-flags.ts (ROLEGATE_GC_FLAGS), each with
# why there and in docs/performance.md ("GC flags the image ships").
ENTRYPOINT ["node", "--max-semi-space-size=2", "--no-allocation-site-pretenuring", "--single-threaded-gc", "bin/rolegate.js"]
CMD ["serve", "--config", "/etc/rolegate/rolegate.yaml"]
