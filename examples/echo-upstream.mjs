// A stand-in for "your API" behind Envoy in the quickstart (docker-compose.yml):
// answers every request with JSON { method, path, headers } it received, so you
// can see what Envoy forwarded after rolegate allowed it (e.g. added headers).
// Usage: node examples/echo-upstream.mjs   (PORT, default 8081; HOST, default 127.0.0.1)
import { createServer } from 'node:http';
import process from 'node:process';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8081);

const server = createServer((req, res) => {
  const body = JSON.stringify({ method: req.method, path: req.url, headers: req.headers });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});

server.listen(port, host, () => {
  process.stdout.write(`echo upstream listening on http://${host}:${port}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
