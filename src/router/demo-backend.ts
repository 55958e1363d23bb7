/**
 * The demo's backend: one trusted in-process session in the router (over
 * `createLocalTransportPair`, no sockets) that owns the shared state of the
 * page served at `/`:
 *
 * - `demo.counter.get()` / `demo.counter.add(delta)` → value; every change is
 *   published on `demo.counter.on_change` `[value]` `{ by }`.
 * - `demo.board.get()` → strokes; browsers publish `demo.board.stroke`
 *   themselves (PubSub), the backend keeps the last {@link MAX_STROKES};
 *   `demo.board.clear()` empties it and publishes `demo.board.on_clear`.
 * - `demo.chat.history()` → the last {@link MAX_CHAT} of `demo.chat.message`.
 * - `autostrada.router.stats()` and, every second, `autostrada.router.on_stats`
 *   `{ sessions, messages_in, messages_out, in_per_s, out_per_s, uptime_s }`.
 *
 * Inputs from browsers are checked and bounded: nothing a page sends can grow
 * the backend's memory without limit or reach other pages unvalidated.
 *
 * @module
 */
import { Session } from '../wamp/session.js';
import { ApplicationError } from '../wamp/application-error.js';
import { createLocalTransportPair } from '../wamp/transport.js';
import type { Router } from './server.js';

/** Strokes kept for late joiners. */
export const MAX_STROKES = 5000;
/** Chat messages kept for late joiners. */
export const MAX_CHAT = 100;

interface Stroke {
  color: string;
  width: number;
  points: number[];
}

function invalid(message: string): ApplicationError {
  return new ApplicationError('wamp.error.invalid_argument', [message]);
}

/** A stroke from a page: `{ color: '#rrggbb', width: 1..20, points: [x0, y0, x1, y1, …] }` in [0, 1] coordinates, at most 512 points. */
function checkStroke(v: unknown): Stroke | null {
  if (typeof v !== 'object' || v === null) return null;
  const s = v as Record<string, unknown>;
  if (typeof s.color !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(s.color)) return null;
  if (typeof s.width !== 'number' || !(s.width >= 1 && s.width <= 20)) return null;
  if (!Array.isArray(s.points) || s.points.length < 2 || s.points.length > 1024 || s.points.length % 2 !== 0) return null;
  for (const p of s.points) if (typeof p !== 'number' || !(p >= 0 && p <= 1)) return null;
  return { color: s.color, width: s.width, points: s.points as number[] };
}

/**
 * Starts the demo backend in `realm` of `router`.
 * @returns a function that stops it (leaves the session, stops the stats timer)
 */
export async function startDemoBackend(router: Router, realm: string): Promise<() => Promise<void>> {
  const [client, server] = createLocalTransportPair();
  router.attach(server, { trusted: true });
  const session = await Session.join(client, realm, { authid: 'demo-backend', onUserError: () => {} });

  let counter = 0;
  const strokes: Stroke[] = [];
  const chat: Array<{ name: string; text: string; at: number }> = [];

  await session.register('demo.counter.get', () => counter);
  await session.register('demo.counter.add', (args, _kwargs, details) => {
    const delta = args[0];
    if (typeof delta !== 'number' || !Number.isInteger(delta) || Math.abs(delta) > 10) throw invalid('delta must be an integer in [-10, 10]');
    counter += delta;
    const by = details.caller_authid ?? (details.caller !== undefined ? `session ${details.caller}` : 'someone');
    void session.publish('demo.counter.on_change', [counter], { by }).catch(() => {});
    return counter;
  }, { disclose_caller: true });

  await session.register('demo.board.get', () => strokes);
  await session.register('demo.board.clear', () => {
    strokes.length = 0;
    void session.publish('demo.board.on_clear', []).catch(() => {});
    return null;
  });
  await session.subscribe('demo.board.stroke', (args) => {
    const s = checkStroke(args[0]);
    if (!s) return;
    strokes.push(s);
    if (strokes.length > MAX_STROKES) strokes.splice(0, strokes.length - MAX_STROKES);
  });

  await session.register('demo.chat.history', () => chat);
  await session.subscribe('demo.chat.message', (args) => {
    const m = args[0] as { name?: unknown; text?: unknown } | undefined;
    if (!m || typeof m.name !== 'string' || typeof m.text !== 'string') return;
    chat.push({ name: m.name.slice(0, 24), text: m.text.slice(0, 500), at: Date.now() });
    if (chat.length > MAX_CHAT) chat.splice(0, chat.length - MAX_CHAT);
  });

  let last = { in: router.traffic.messagesIn, out: router.traffic.messagesOut, at: Date.now() };
  let current = { in_per_s: 0, out_per_s: 0 };
  const stats = (): Record<string, number> => ({
    sessions: router.sessionCount,
    messages_in: router.traffic.messagesIn,
    messages_out: router.traffic.messagesOut,
    in_per_s: current.in_per_s,
    out_per_s: current.out_per_s,
    uptime_s: Math.round((Date.now() - router.startedAt) / 1000),
  });
  await session.register('autostrada.router.stats', () => stats());
  const timer = setInterval(() => {
    const now = Date.now();
    const dt = Math.max(1, now - last.at) / 1000;
    current = {
      in_per_s: Math.round((router.traffic.messagesIn - last.in) / dt),
      out_per_s: Math.round((router.traffic.messagesOut - last.out) / dt),
    };
    last = { in: router.traffic.messagesIn, out: router.traffic.messagesOut, at: now };
    // The stats event itself is traffic; it is one message per subscriber per second.
    if (session.isOpen) void session.publish('autostrada.router.on_stats', [], stats()).catch(() => {});
  }, 1000);
  timer.unref?.();

  return async () => {
    clearInterval(timer);
    if (session.isOpen) await session.leave().catch(() => {});
  };
}
