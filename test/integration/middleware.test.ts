import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { type LiteFSDatabase, openDatabase } from '../../src/index.js';
import { expressConsistency, fastifyConsistency, honoConsistency, withConsistency } from '../../src/middleware/index.js';
import { type FakeNode, freePort, nodeOptions, replicate, seedReplicaFile, startNode } from '../support/fake-cluster.js';
import { FakeLiteFS } from '../support/fake-litefs.js';

/** A POST that writes on one replica, then a GET on another replica, for one framework. */
interface Framework {
  name: string;
  start(db: LiteFSDatabase): Promise<{ url: string; close(): Promise<void> }>;
}

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const insert = (db: LiteFSDatabase, name: string) => db.get<{ id: number }>('INSERT INTO notes (name) VALUES (?) RETURNING id', [name]);
const find = (db: LiteFSDatabase, name: string) => db.get('SELECT name FROM notes WHERE name = ?', [name]);

const FRAMEWORKS: Framework[] = [
  {
    name: 'express',
    async start(db) {
      const app = express();
      app.use(expressConsistency(db, { maxWait: 1_500 }));
      app.post('/notes/:name', async (req, res) => {
        res.status(201).json(await insert(db, req.params.name));
      });
      app.get('/notes/:name', async (req, res) => {
        res.json({ note: (await find(db, req.params.name)) ?? null });
      });
      return listen(createServer(app));
    },
  },
  {
    name: 'fastify',
    async start(db) {
      const app = Fastify();
      await app.register(fastifyConsistency, { database: db, maxWait: 1_500 });
      app.post<{ Params: { name: string } }>('/notes/:name', async (request, reply) => reply.code(201).send(await insert(db, request.params.name)));
      app.get<{ Params: { name: string } }>('/notes/:name', async (request) => ({ note: (await find(db, request.params.name)) ?? null }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    },
  },
  {
    name: 'hono',
    async start(db) {
      const app = new Hono();
      app.use(honoConsistency(db, { maxWait: 1_500 }));
      app.post('/notes/:name', async (c) => c.json(await insert(db, c.req.param('name')), 201));
      app.get('/notes/:name', async (c) => c.json({ note: (await find(db, c.req.param('name'))) ?? null }));
      const port = await freePort();
      const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }) as Server;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
    },
  },
  {
    name: 'web-standard handler',
    async start(db) {
      const handler = withConsistency(
        db,
        async (request) => {
          const name = decodeURIComponent(new URL(request.url).pathname.split('/')[2] ?? '');
          if (request.method === 'POST') return Response.json(await insert(db, name), { status: 201 });
          return Response.json({ note: (await find(db, name)) ?? null });
        },
        { maxWait: 1_500 },
      );
      const port = await freePort();
      const server = serve({ fetch: handler, port, hostname: '127.0.0.1' }) as Server;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
    },
  },
];

describe('HTTP middleware: read-your-writes across requests and replicas', () => {
  let primary: FakeNode;
  let writerLiteFS: FakeLiteFS;
  let readerLiteFS: FakeLiteFS;
  let primaryLiteFS: FakeLiteFS;
  let writerDb: LiteFSDatabase;
  let readerDb: LiteFSDatabase;
  let txid = 0x100;

  before(async () => {
    primaryLiteFS = await FakeLiteFS.start({ isPrimary: true });
    const port = await freePort();
    primary = await startNode('node-a', primaryLiteFS, { listen: { host: '127.0.0.1', port }, advertiseUrl: `http://127.0.0.1:${port}` });
    await primary.process.call('exec', 'CREATE TABLE notes (id INTEGER PRIMARY KEY, name TEXT)');
    writerLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
    readerLiteFS = await FakeLiteFS.start({ isPrimary: false, primaryHostname: 'node-a' });
    seedReplicaFile(primary, writerLiteFS);
    seedReplicaFile(primary, readerLiteFS);
    writerDb = await openDatabase({ ...nodeOptions('node-b', writerLiteFS), listen: false });
    readerDb = await openDatabase({ ...nodeOptions('node-c', readerLiteFS), listen: false });
  });
  after(async () => {
    await writerDb?.close();
    await readerDb?.close();
    await primary?.process.stop();
    await Promise.all([primaryLiteFS?.close(), writerLiteFS?.close(), readerLiteFS?.close()]);
  });

  for (const framework of FRAMEWORKS) {
    test(`${framework.name}: a POST on one replica, then a GET on another, sees the write; a stale replica waits`, async (t) => {
      const writer = await framework.start(writerDb);
      const reader = await framework.start(readerDb);
      t.after(async () => {
        await writer.close();
        await reader.close();
      });
      // The primary's LiteFS position after the next commit (LiteFS writes it; the stand-in does it by hand).
      const next = (txid += 0x10).toString(16).padStart(16, '0');
      writeFileSync(`${primaryLiteFS.databasePath}-pos`, `${next}/0000000000000000\n`);
      const name = `note-${framework.name.replace(/\W/g, '')}`;

      const posted = await fetch(`${writer.url}/notes/${name}`, { method: 'POST' });
      assert.equal(posted.status, 201);
      const cookie = posted.headers.get('set-cookie');
      // The token names the commit: its TXID, and the checksum that tells it from another lineage's TXID.
      assert.match(cookie ?? '', new RegExp(`^__txid=${next}\\.0000000000000000; Path=/; Max-Age=300; HttpOnly; SameSite=Lax`));
      assert.equal(posted.headers.get('x-litefs-txid'), `${next}.0000000000000000`);

      // The other replica has not replicated the write yet: the GET waits instead of answering stale data.
      let settled = false;
      const pending = fetch(`${reader.url}/notes/${name}`, { headers: { cookie: cookie!.split(';')[0]! } }).then((response) => {
        settled = true;
        return response;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(settled, false, 'the GET answered before the replica had the write');
      await replicate(primary, { litefs: readerLiteFS } as FakeNode);
      readerLiteFS.broadcast(JSON.stringify({ type: 'tx', db: 'app.db', data: { txID: next, postApplyChecksum: '0000000000000000', pageSize: 4096, commit: 2, timestamp: new Date().toISOString() } }));
      const got = await pending;
      assert.equal(got.status, 200);
      assert.deepEqual(await got.json(), { note: { name } });

      // A TXID this replica never reaches: a clear answer once the wait runs out.
      const stale = await fetch(`${reader.url}/notes/${name}`, { headers: { 'x-litefs-txid': 'ffffffffffffff00' } });
      assert.equal(stale.status, 503);
      assert.equal(((await stale.json()) as { error: { code: string } }).error.code, 'READ_YOUR_WRITES_TIMEOUT');
      // Requests without a TXID, or that did not write, are left alone.
      const plain = await fetch(`${reader.url}/notes/${name}`);
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get('set-cookie'), null);
    });
  }
});
