/** Small helpers for tests that drive our WebSocket client/server. */
import type { WebSocketConnection, WsMessageEvent, WsCloseEvent } from '../../src/connection.js';

/** Resolves with the next message (rejects after timeoutMs or on close). */
export function nextMessage(ws: WebSocketConnection, timeoutMs = 20_000): Promise<WsMessageEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => done(new Error('no message within ' + timeoutMs + ' ms')), timeoutMs);
    const onMsg = (e: WsMessageEvent): void => done(null, e);
    const onClose = (e: WsCloseEvent): void => done(new Error(`closed (${e.code}) while waiting for a message`));
    function done(err: Error | null, e?: WsMessageEvent): void {
      clearTimeout(t);
      ws.removeEventListener('message', onMsg);
      ws.removeEventListener('close', onClose);
      if (err) reject(err);
      else resolve(e as WsMessageEvent);
    }
    ws.addEventListener('message', onMsg);
    ws.addEventListener('close', onClose);
  });
}

/** Resolves with the close event (rejects after timeoutMs). */
export function closed(ws: WebSocketConnection, timeoutMs = 20_000): Promise<WsCloseEvent> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === 3) {
      reject(new Error('already closed'));
      return;
    }
    const t = setTimeout(() => reject(new Error('not closed within ' + timeoutMs + ' ms')), timeoutMs);
    ws.addEventListener('close', (e) => {
      clearTimeout(t);
      resolve(e);
    });
  });
}

export const SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1024 * 1024, 16 * 1024 * 1024];
