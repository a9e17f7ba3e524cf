// A client process of the broadcast scenario: opens its share of the sockets (plain `ws` to a
// nestjs-channels interface, or socket.io-client to a Socket.IO server), stamps every frame's
// arrival and tells the bench how far its sockets have got. Two of these carry the N sockets, so
// the bench process is never the receiver; their CPU is reported beside the servers'.
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { serveParent } from '../child-process';
import { DeliveryTracker } from './delivery';
import { EVENT, wallMs, type ClientKind, type ClientRequest, type Stamp } from './protocol';

/** A progress request with nothing new is answered after this long, so the bench can check its deadlines. */
const PROGRESS_WAIT_MS = 250;
const HANDSHAKE_TIMEOUT_MS = 15_000;

interface Connection {
  close(): void;
}

let tracker: DeliveryTracker | undefined;
let dropped = 0;
let recording = false;
const connections: Connection[] = [];

function reply(message: object): void {
  process.send?.(message);
}

/** A socket's index in the tracker, given once it has opened (failed sockets leave no gap). */
interface Slot {
  index: number;
}

/** Opens one socket; resolves once open, or rejects. Frames go to `tracker` under the slot's index. */
function openWs(url: string, slot: Slot): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    socket.on('message', (data) => {
      const now = wallMs();
      const stamp = JSON.parse(String(data)) as Stamp;
      if (slot.index >= 0) tracker?.receive(slot.index, stamp.n, stamp.t, now);
    });
    socket.once('open', () => {
      socket.once('close', () => recording && dropped++);
      resolve({ close: () => socket.terminate() });
    });
    socket.once('error', (error) => reject(error));
    socket.once('unexpected-response', (_request, response) => {
      socket.terminate();
      reject(new Error(`handshake answered ${response.statusCode}`));
    });
  });
}

function openSocketIo(url: string, slot: Slot): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: HANDSHAKE_TIMEOUT_MS,
    });
    socket.on(EVENT, (stamp: Stamp) => {
      if (slot.index >= 0) tracker?.receive(slot.index, stamp.n, stamp.t, wallMs());
    });
    socket.once('connect', () => {
      socket.once('disconnect', () => recording && dropped++);
      resolve({ close: () => socket.disconnect() });
    });
    socket.once('connect_error', (error) => {
      socket.disconnect();
      reject(error);
    });
  });
}

/**
 * The Socket.IO protocol (engine.io 4 packets over one WebSocket) with no client library: `0` open →
 * send `40` (join namespace /) → `40{sid}` connected; `2` ping → `3` pong; `42["m",{n,t}]` an event.
 */
function openEngineIo(url: string, slot: Slot): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: HANDSHAKE_TIMEOUT_MS });
    socket.on('message', (data) => {
      const now = wallMs();
      const text = String(data);
      if (text.startsWith('42')) {
        const [, stamp] = JSON.parse(text.slice(2)) as [string, Stamp];
        if (slot.index >= 0) tracker?.receive(slot.index, stamp.n, stamp.t, now);
      } else if (text === '2') socket.send('3');
      else if (text.startsWith('0')) socket.send('40');
      else if (text.startsWith('40')) {
        socket.once('close', () => recording && dropped++);
        resolve({ close: () => socket.terminate() });
      } else if (text.startsWith('44')) reject(new Error(`namespace refused: ${text}`));
    });
    socket.once('error', (error) => reject(error));
  });
}

/** Opens `count` sockets, `batch` at a time (10,000 at once would overrun the accept backlog). */
async function open(kind: ClientKind, url: string, count: number, batch: number): Promise<object> {
  const started = wallMs();
  let failed = 0;
  let firstError: string | undefined;
  for (let first = 0; first < count; first += batch) {
    const size = Math.min(batch, count - first);
    const slots: Slot[] = Array.from({ length: size }, () => ({ index: -1 }));
    const settled = await Promise.allSettled(
      slots.map((slot) =>
        kind === 'ws' ? openWs(url, slot) : kind === 'engine.io' ? openEngineIo(url, slot) : openSocketIo(url, slot),
      ),
    );
    for (const [i, result] of settled.entries()) {
      if (result.status === 'fulfilled') {
        slots[i].index = connections.length;
        connections.push(result.value);
      } else {
        failed++;
        firstError ??= String((result.reason as Error)?.message ?? result.reason);
      }
    }
  }
  tracker = new DeliveryTracker(connections.length);
  return { type: 'opened', opened: connections.length, failed, firstError, ms: wallMs() - started };
}

let waiting: { after: number; timer: NodeJS.Timeout } | undefined;

function answerProgress(): void {
  if (!waiting || !tracker) return;
  clearTimeout(waiting.timer);
  waiting = undefined;
  reply({ type: 'progress', completed: tracker.completed });
}

function handle(request: ClientRequest): object | undefined {
  switch (request.type) {
    case 'record': {
      if (!tracker) throw new Error('no sockets are open');
      tracker.record(request.firstN);
      tracker.onProgress = () => waiting && tracker!.completed > waiting.after && answerProgress();
      recording = true;
      dropped = 0;
      cpuAtRecord = process.cpuUsage();
      return { type: 'recording' };
    }
    case 'progress': {
      if (!tracker) throw new Error('no sockets are open');
      if (tracker.completed > request.after) return { type: 'progress', completed: tracker.completed };
      waiting = { after: request.after, timer: setTimeout(answerProgress, PROGRESS_WAIT_MS) };
      return undefined;
    }
    case 'results': {
      if (!tracker) throw new Error('no sockets are open');
      tracker.stop();
      recording = false;
      const cpu = process.cpuUsage(cpuAtRecord);
      return {
        type: 'results',
        delivered: tracker.delivered,
        duplicates: tracker.duplicates,
        latencies: tracker.latencies.toArray(),
        lastAt: tracker.lastAt,
        completed: tracker.completed,
        cpuMs: (cpu.user + cpu.system) / 1000,
        dropped,
      };
    }
    case 'close':
      closeAll();
      return { type: 'closed' };
    default:
      throw new Error(`unknown request ${JSON.stringify(request)}`);
  }
}

let cpuAtRecord = process.cpuUsage();

function closeAll(): void {
  recording = false;
  for (const connection of connections.splice(0)) connection.close();
  tracker = undefined;
}

process.on('message', (raw: unknown) => {
  const request = raw as ClientRequest;
  const fail = (error: unknown): void => reply({ type: 'error', message: (error as Error)?.message ?? String(error) });
  if (request.type === 'open') {
    open(request.kind, request.url, request.count, request.batch).then(reply, fail);
    return;
  }
  try {
    const answer = handle(request);
    if (answer) reply(answer);
  } catch (error) {
    fail(error);
  }
});

// A reply or 'ready' sent after the bench has gone (EPIPE) must not crash the helper: it exits on disconnect.
process.on('error', () => undefined);
if (process.connected) serveParent(async () => closeAll());
else process.exit(1); // the bench went away while this process was starting
