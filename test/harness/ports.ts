import { createServer } from 'node:net';

const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Never returns the same
 * port twice in one process, so peers started together do not collide.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const address = server.address();
        server.close(() => {
          if (address !== null && typeof address === 'object') resolve(address.port);
          else reject(new Error('freePort: no address'));
        });
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no free loopback port found after 50 attempts');
}

/** `n` distinct free loopback ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  return ports;
}
