# rolegate container image. Build: docker build -t rolegate .
# (Needs a registry for the node base image; CI here runs rolegate in-process.)
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY bin ./bin
COPY proto ./proto
COPY examples ./examples
USER node
EXPOSE 9001 9002
ENTRYPOINT ["node", "bin/rolegate.js"]
CMD ["serve", "--config", "/etc/rolegate/rolegate.yaml"]
