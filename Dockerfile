# keyrev in a container: the same `npm start` as on a laptop.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:web
ENV HOST=0.0.0.0 PORT=8080 KEYREV_DATA_DIR=/data UV_THREADPOOL_SIZE=16
VOLUME ["/data"]
EXPOSE 8080
CMD ["npx", "tsx", "server/main.ts"]
