import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';
import type { RpcHandler } from './rpc-handler.js';

export interface EndpointServerOptions {
  handler: RpcHandler;
  host: string;
  port: number;
  /** Open connections at most; further ones are closed at once. */
  maxConnections: number;
  /** How long a client has to send the request headers. */
  headersTimeoutMs: number;
  /** How long a client has to send the whole request (headers and body). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept. */
  keepAliveTimeoutMs: number;
  /** How long close() lets requests in flight finish before it destroys their sockets. */
  closeGraceMs: number;
  logger: Logger;
}

/**
 * The built-in HTTP server of the forwarding endpoint, with every resource bounded: connections, header and body
 * time, keep-alive, and a close() that finishes in bounded time (at most `closeGraceMs` plus a tick).
 */
export class EndpointServer {
  readonly #options: EndpointServerOptions;
  readonly #server: Server;
  /** Each open socket, and whether a request is in flight on it. */
  readonly #sockets = new Map<Socket, { busy: boolean }>();
  #closing: Promise<void> | undefined;

  private constructor(options: EndpointServerOptions) {
    this.#options = options;
    const server = createServer(
      {
        headersTimeout: options.headersTimeoutMs,
        requestTimeout: options.requestTimeoutMs,
        keepAliveTimeout: options.keepAliveTimeoutMs,
        // Node checks the header and request timeouts only this often (30 s by default).
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(options.headersTimeoutMs / 2))),
        // Node's default of 2,000 headers is far more than a signed request needs.
        maxHeaderSize: 16 * 1024,
      },
      (req, res) => {
        const state = this.#sockets.get(req.socket);
        if (state) state.busy = true;
        res.once('close', () => {
          if (state) state.busy = false;
          if (this.#closing !== undefined) req.socket.destroy();
        });
        options.handler(req, res);
      },
    );
    server.maxConnections = options.maxConnections;
    server.maxRequestsPerSocket = 0;
    server.on('connection', (socket: Socket) => {
      this.#sockets.set(socket, { busy: false });
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // A malformed request or a timed-out one: answer 400/408 if possible, never throw.
    server.on('clientError', (_error, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      socket.destroy();
    });
    this.#server = server;
  }

  static async start(options: EndpointServerOptions): Promise<EndpointServer> {
    const endpoint = new EndpointServer(options);
    await new Promise<void>((resolve, reject) => {
      endpoint.#server.once('error', reject);
      endpoint.#server.listen(options.port, options.host, () => {
        endpoint.#server.off('error', reject);
        resolve();
      });
    });
    return endpoint;
  }

  address(): ReturnType<Server['address']> {
    return this.#server.address();
  }

  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Stops accepting, closes idle keep-alive connections at once, gives requests in flight `closeGraceMs`, then
   * destroys what is left. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const [socket, state] of this.#sockets) if (!state.busy) socket.destroy();
      const timer = setTimeout(() => {
        if (this.#sockets.size > 0) this.#options.logger.warn({ sockets: this.#sockets.size }, 'closing the endpoint: destroying connections still in flight');
        for (const socket of this.#sockets.keys()) socket.destroy();
      }, this.#options.closeGraceMs);
      timer.unref();
      this.#server.once('close', () => clearTimeout(timer));
    });
    return this.#closing;
  }
}
