/** Regression: frames sent by the server in the same read as its 101 reach handlers set after `await WebSocket.connect()`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { WebSocket } from '../../../../src/adapters/node/client.js';
import { WebSocketServer } from '../../../../src/adapters/node/server.js';
import { frame } from '../../../helpers/frames.js';
import { nextMessage } from '../../../helpers/ws.js';

test('a greeting sent in the same packet as the 101 is not lost to await connect()', async () => {
  // A raw server that writes the 101 and two frames in ONE write.
  const server = createServer((s) => {
    s.once('data', (b) => {
      const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(b.toString('latin1'))?.[1] ?? '';
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      s.write(Buffer.concat([Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), frame(1, 'hello'), frame(1, 'second')]));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    for (let i = 0; i < 20; i++) {
      const ws = await WebSocket.connect(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, [], { perMessageDeflate: false });
      const got: string[] = [];
      const both = new Promise<void>((resolve, reject) => {
        setTimeout(() => reject(new Error(`got ${JSON.stringify(got)} within 3 s, expected both messages`)), 3000).unref();
        ws.onmessage = (e) => {
          got.push(e.data as string);
          if (got.length === 2) resolve();
        };
      });
      await both;
      assert.deepEqual(got, ['hello', 'second']);
      ws.terminate();
    }
  } finally {
    server.close();
  }
});

test('a server that greets on connection: the client sees the greeting after await connect()', async () => {
  const wss = new WebSocketServer({ port: 0 });
  wss.on('connection', (ws) => ws.send('welcome'));
  await wss.ready();
  try {
    for (let i = 0; i < 10; i++) {
      const ws = await WebSocket.connect(`ws://127.0.0.1:${wss.address()?.port}/`);
      assert.equal((await nextMessage(ws, 5000)).data, 'welcome');
      ws.close();
    }
  } finally {
    await wss.close();
  }
});
