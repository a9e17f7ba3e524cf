import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { ChannelsModule, Consumer, sendHttpResponse, type Message } from '../../src';
import { openSocket } from '../support/websocket';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const disconnects: string[] = [];

@Injectable()
class Consumers {
  @Consumer('http.request', { path: /^\/slow$/ })
  async slow(message: Message): Promise<void> {
    await sleep(300);
    await sendHttpResponse(message, { body: 'slow' });
  }

  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }

  @Consumer('websocket.disconnect')
  disconnected(message: Message): void {
    disconnects.push(String(message.content.path));
  }

  @Consumer('websocket.receive')
  async echo(message: Message): Promise<void> {
    if (message.content.text === 'stall') await sleep(2000);
    await message.replyChannel!.send({ text: String(message.content.text) });
  }
}

describe('backpressure: a flood into one channel', () => {
  let app: INestApplication;
  let http: string;
  let ws: string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ChannelsModule.forRoot({
          // Small queues on the two flooded channels; every other channel keeps the default.
          layers: { default: { options: { channelCapacity: { 'http.request': 3, 'websocket.receive': 4 } } } },
          worker: { concurrency: 4 },
          // Small per-client limits, so the floods below meet them.
          interface: {
            http: { maxRequestsPerClient: 8 },
            websocket: { receiveAllowance: 4, maxQueuedFrames: 8 },
          },
        }),
      ],
      providers: [Consumers],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    http = `http://127.0.0.1:${port}`;
    ws = `ws://127.0.0.1:${port}`;
  });
  afterAll(() => app.close());

  async function echo(socket: WebSocket, text: string): Promise<void> {
    const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send(text);
    expect(await reply).toBe(text);
  }

  it('answers a client flooding HTTP with 429 past its limit, serves the rest in turn, while WebSockets keep their pace', async () => {
    const socket = await openSocket(`${ws}/chat/`);
    let floodOver = false;
    const flood = Promise.all(Array.from({ length: 40 }, () => fetch(`${http}/slow`).then((r) => r.status))).finally(
      () => (floodOver = true),
    );
    await sleep(20);
    await echo(socket, 'during the flood');
    // The frame did not queue behind the flood: its echo came back while HTTP was still busy.
    expect(floodOver).toBe(false);
    const statuses = await flood;
    // 8 open at once for this client; the others are told to come back, none is dropped or left hanging.
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(8);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    // Once the flood is over, HTTP is served again.
    expect(await (await fetch(`${http}/slow`)).text()).toBe('slow');
    socket.close();
  });

  it('closes a socket that floods past its queue with 1013, sends its disconnect, and keeps HTTP and new sockets working', async () => {
    const flooder = await openSocket(`${ws}/flood/`);
    const code = new Promise<number>((resolve) => flooder.once('close', (c) => resolve(c)));
    for (let i = 0; i < 4; i++) flooder.send('stall'); // takes every worker slot for 2 s
    for (let i = 0; i < 20; i++) flooder.send(`frame ${i}`);
    expect(await code).toBe(1013);
    // Closed by back-pressure, it still gets its websocket.disconnect (groups and sessions are cleaned up).
    for (let i = 0; i < 50 && !disconnects.includes('/flood/'); i++) await sleep(100);
    expect(disconnects).toContain('/flood/');
    expect((await fetch(`${http}/slow`)).status).toBe(200);
    await sleep(2100); // the stalled consumers finish; websocket.receive drains
    const other = await openSocket(`${ws}/after/`);
    await echo(other, 'still here');
    other.close();
  });
});
