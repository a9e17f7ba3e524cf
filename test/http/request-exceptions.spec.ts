import { Injectable, type INestApplication, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChannelLayerRegistry,
  ChannelsModule,
  Consumer,
  HTTP_BODY_CHANNEL_PATTERN,
  readHttpRequest,
  sendHttpResponse,
  type Message,
} from '../../src';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const outcomes: string[] = [];

@Injectable()
class Upload {
  @Consumer('http.request', { path: /^\/upload$/ })
  async upload(message: Message): Promise<void> {
    try {
      const request = await readHttpRequest(message, 1);
      await sendHttpResponse(message, { body: `got ${request.body.length}` });
      outcomes.push('read');
    } catch (error) {
      outcomes.push((error as Error).name);
      throw error;
    }
  }
}

class Recorder implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  error(text: unknown): void {
    this.errors.push(String(text));
  }
}

describe('readHttpRequest when the body does not come', () => {
  let app: INestApplication;
  let port: number;
  const recorder = new Recorder();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot()],
      providers: [Upload],
    }).compile();
    app = moduleRef.createNestApplication({ logger: recorder });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  it('throws RequestAborted when the client goes away mid-body: no error is logged, no stack', async () => {
    outcomes.length = 0;
    recorder.errors.length = 0;
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/upload',
      method: 'POST',
      headers: { 'content-length': 3_000_000 },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1_200_000, 1)); // past the first 512 KiB: the rest goes through a body channel
    await sleep(300);
    req.destroy();
    for (let i = 0; i < 50 && outcomes.length === 0; i++) await sleep(50);
    expect(outcomes).toEqual(['RequestAborted']);
    await sleep(50);
    expect(recorder.errors).toEqual([]);
  });

  it('throws RequestTimeout when a chunk does not come in time, and the worker answers 408', async () => {
    outcomes.length = 0;
    const layer = app.get(ChannelLayerRegistry).layer();
    const bodyChannel = await layer.newChannel(HTTP_BODY_CHANNEL_PATTERN);
    await layer.send('http.request', {
      reply_channel: 'test.reply!1',
      method: 'POST',
      path: '/upload',
      query_string: Buffer.alloc(0),
      headers: [],
      body: Buffer.from('first part'),
      body_channel: bodyChannel,
    });
    const [, reply] = await layer.receive(['test.reply!'], { block: true, timeout: 5 });
    expect(reply?.status).toBe(408);
    expect(outcomes).toEqual(['RequestTimeout']);
  });
});
