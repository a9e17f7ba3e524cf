// A client helper of the idle-connection scenario: opens its share of the idle sockets when asked,
// a bounded number at a time, and holds them open until the bench goes away. The sockets live in
// processes of their own so the bench process (and its heap) stays small and the server's readings
// see only the server. `idle-client.ts <ws|socket.io> <ws url> <http url> <count> <concurrency>`
import { serveParent } from '../child-process';
import type { ClientKind } from '../servers';
import { openClient, type ClientSocket, type ServerAddress } from './client-socket';

export interface OpenRequest {
  type: 'open';
}

export interface StatusRequest {
  type: 'status';
}

export interface OpenedReply {
  type: 'opened';
  open: number;
  failed: number;
  /** The first failure's message, when there was one. */
  firstError?: string;
  wallMs: number;
}

export interface StatusReply {
  type: 'status';
  /** Sockets open now. */
  open: number;
  /** Sockets the server (or the network) closed since they opened. */
  lost: number;
}

const OPEN_TIMEOUT_MS = 20_000;
/** Past this many failed opens the rest are not tried: the server is refusing, no need to wait for all. */
const MAX_FAILURES = 50;

const sockets = new Set<ClientSocket>();
let lost = 0;

async function openAll(server: ServerAddress, count: number, concurrency: number): Promise<OpenedReply> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  // `concurrency` loops, each opening one socket after another: never more handshakes in flight.
  const loop = async (): Promise<void> => {
    while (next < count && failed < MAX_FAILURES) {
      next++;
      try {
        const socket = await openClient(server, OPEN_TIMEOUT_MS);
        sockets.add(socket);
        socket.onLost(() => {
          sockets.delete(socket);
          lost++;
        });
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, loop));
  return {
    type: 'opened',
    open: sockets.size,
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    wallMs: performance.now() - started,
  };
}

function main(): void {
  const [kind, wsUrl, httpUrl, countArg, concurrencyArg] = process.argv.slice(2);
  const count = Number(countArg);
  const concurrency = Number(concurrencyArg);
  if ((kind !== 'ws' && kind !== 'socket.io') || !wsUrl || !httpUrl || !(count > 0) || !(concurrency > 0)) {
    console.error('usage: idle-client.ts <ws|socket.io> <ws url> <http url> <count> <concurrency>');
    process.exit(2);
  }
  const server: ServerAddress = { client: kind satisfies ClientKind, wsUrl, httpUrl };
  process.on('message', (message: OpenRequest | StatusRequest) => {
    if (message.type === 'open') {
      void openAll(server, count, concurrency).then((reply) => process.send?.(reply));
    } else if (message.type === 'status') {
      const reply: StatusReply = { type: 'status', open: sockets.size, lost };
      process.send?.(reply);
    }
  });
  serveParent(async () => {
    for (const socket of sockets) socket.terminate();
  });
}

main();
