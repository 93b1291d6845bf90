import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

// Ports handed out by this process, so two callers never get the same one even
// before either has bound it.
const handedOut = new Set<number>();

function tcpPort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: '127.0.0.1', port, exclusive: true }, () => {
      socket.close(() => resolve(true));
    });
  });
}

export interface FreePortOptions {
  /** Also require the same port number to be free for UDP (Consul's Serf needs both). */
  udp?: boolean;
}

/**
 * Returns a loopback TCP port that is free right now and that this process
 * has not handed out before.
 */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await tcpPort(0);
    if (port === 0 || handedOut.has(port)) continue;
    if (options.udp && !(await udpFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('could not find a free loopback port');
}

/** Returns `count` distinct free loopback ports. */
export async function freePorts(count: number, options: FreePortOptions = {}): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort(options));
  return ports;
}
