// The flooding client of the faults section's first scenario, in a helper process of its own (so its
// work does not share the bystanders' event loop): `flooder.ts`, asked over IPC (FloodRequest).
// It opens a WebSocket by hand (HTTP upgrade) and writes batches of 3,000 one-byte masked text
// frames, each batch in one socket.write, as fast as the socket takes them (waiting for 'drain'
// when it does not). It reads the server's frames: echoes are counted, a close frame ends the
// socket; with `reopen`, a new one is opened at once, as an abusive client would.
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { serveParent } from '../child-process';
import type { FloodReport, FloodRequest } from './protocol';

/** Frames per write: `[0x81, 0x81, 0,0,0,0, 'x']`, FIN + text, masked (all-zero key), one byte of payload. */
export const FRAMES_PER_BATCH = 3000;
const FRAME = [0x81, 0x81, 0, 0, 0, 0, 0x78];
const BATCH = Buffer.alloc(FRAMES_PER_BATCH * FRAME.length);
for (let i = 0; i < FRAMES_PER_BATCH; i++) BATCH.set(FRAME, i * FRAME.length);
const HANDSHAKE_TIMEOUT_MS = 5000;
/** After a failed handshake, a pause before the next, so a refusing server is not hammered. */
const RETRY_PAUSE_MS = 50;

/** Opens a WebSocket by hand: resolves with the upgraded socket and the bytes that came with the answer. */
function openRaw(url: string): Promise<{ socket: Socket; head: Buffer }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
      timeout: HANDSHAKE_TIMEOUT_MS,
    });
    request.once('upgrade', (_response, socket, head) => resolve({ socket: socket as Socket, head }));
    request.once('response', (response) => {
      response.resume();
      reject(new Error(`the handshake was answered ${response.statusCode}`));
    });
    request.once('timeout', () => request.destroy(new Error('the handshake timed out')));
    request.once('error', reject);
    request.end();
  });
}

/** Reads the server's frames (unmasked, unfragmented as `ws` sends them): text frames and the close code. */
class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  texts = 0;
  closeCode: number | undefined;

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let at = 0;
    while (this.buffer.length - at >= 2) {
      const opcode = this.buffer[at] & 0x0f;
      let length = this.buffer[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (this.buffer.length - at < 4) break;
        length = this.buffer.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (this.buffer.length - at < 10) break;
        length = Number(this.buffer.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (this.buffer.length - at < header + length) break;
      if (opcode === 0x1) this.texts++;
      else if (opcode === 0x8) this.closeCode = length >= 2 ? this.buffer.readUInt16BE(at + header) : 1005;
      at += header + length;
    }
    this.buffer = this.buffer.subarray(at);
  }
}

class Flood {
  private running = true;
  private socket: Socket | undefined;
  private readonly startedAt = performance.now();
  private drainSince: number | undefined;
  private readonly report: FloodReport = {
    type: 'flood-report',
    socketsOpened: 0,
    closeCodes: [],
    framesWritten: 0,
    framesEchoed: 0,
    drainWaits: 0,
    drainWaitMs: 0,
    floodMs: 0,
    failedOpens: 0,
  };
  private readonly loop: Promise<void>;
  private first!: () => void;
  /** Resolves once the first socket floods (or the flood stopped before). */
  readonly started = new Promise<void>((resolve) => (this.first = resolve));

  constructor(
    private readonly url: string,
    private readonly reopen: boolean,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let opened: { socket: Socket; head: Buffer };
      try {
        opened = await openRaw(this.url);
      } catch (error) {
        this.report.failedOpens++;
        this.report.firstError ??= (error as Error).message;
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        continue;
      }
      if (!this.running) {
        opened.socket.destroy();
        break;
      }
      this.report.socketsOpened++;
      await this.flood(opened.socket, opened.head);
      if (!this.reopen) break;
    }
    this.first();
  }

  /** Floods one socket until the server closes it or the flood stops. */
  private flood(socket: Socket, head: Buffer): Promise<void> {
    this.socket = socket;
    const reader = new FrameReader();
    let echoed = 0;
    const count = (): void => {
      this.report.framesEchoed += reader.texts - echoed;
      echoed = reader.texts;
    };
    return new Promise((resolve) => {
      let done = false;
      const end = (code: number): void => {
        if (done) return;
        done = true;
        count();
        this.endDrainWait();
        if (this.running) {
          this.report.closeCodes.push(code);
          this.report.firstCloseMs ??= performance.now() - this.startedAt;
        }
        socket.destroy();
        resolve();
      };
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        count();
        if (reader.closeCode !== undefined) end(reader.closeCode);
      });
      socket.once('close', () => end(reader.closeCode ?? 1006));
      socket.on('error', () => undefined);
      if (head.length > 0) socket.emit('data', head);
      const pump = (): void => {
        if (done || !this.running) return;
        this.endDrainWait();
        this.report.framesWritten += FRAMES_PER_BATCH;
        if (socket.write(BATCH)) {
          // Accepted at once: the next batch after the event loop has had a turn (the echoes).
          setImmediate(pump);
          return;
        }
        this.report.drainWaits++;
        this.drainSince = performance.now();
        socket.once('drain', pump);
      };
      this.first();
      pump();
    });
  }

  private endDrainWait(): void {
    if (this.drainSince === undefined) return;
    this.report.drainWaitMs += performance.now() - this.drainSince;
    this.drainSince = undefined;
  }

  async stop(): Promise<FloodReport> {
    this.running = false;
    this.endDrainWait();
    this.report.floodMs = performance.now() - this.startedAt;
    this.socket?.destroy();
    await this.loop;
    return this.report;
  }
}

let current: Flood | undefined;
const reply = (message: object): void => void process.send?.(message);
process.on('message', (raw: unknown) => {
  const request = raw as FloodRequest;
  void (async () => {
    if (request.type === 'start') {
      await current?.stop();
      current = new Flood(request.url, request.reopen);
      await current.started;
      reply({ type: 'flooding' });
    } else if (request.type === 'stop') {
      const flood = current;
      current = undefined;
      reply(flood ? await flood.stop() : { type: 'error', message: 'not flooding' });
    }
  })().catch((error: unknown) => reply({ type: 'error', message: (error as Error).message }));
});
process.on('error', () => undefined);
serveParent(async () => {
  await current?.stop();
});
