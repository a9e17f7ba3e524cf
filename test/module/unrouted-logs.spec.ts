import { Injectable, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ChannelLayerRegistry, ChannelsModule, ChannelsWorkerService, Consumer, type Message } from '../../src';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class ChatOnly {
  @Consumer('websocket.connect', { path: /^\/chat\/$/ })
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }
}

/** Keeps every line the app logs, by level. */
class Recorder implements LoggerService {
  readonly lines: Array<{ level: string; text: string }> = [];
  log = (text: unknown): void => void this.lines.push({ level: 'log', text: String(text) });
  error = (text: unknown): void => void this.lines.push({ level: 'error', text: String(text) });
  warn = (text: unknown): void => void this.lines.push({ level: 'warn', text: String(text) });
  debug = (text: unknown): void => void this.lines.push({ level: 'debug', text: String(text) });
  verbose = (text: unknown): void => void this.lines.push({ level: 'verbose', text: String(text) });
}

describe('messages no route takes', () => {
  let app: INestApplicationContext;
  const recorder = new Recorder();

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ChannelsModule.forRoot()],
      providers: [ChatOnly],
    }).compile();
    moduleRef.useLogger(recorder);
    app = await moduleRef.init();
    recorder.lines.length = 0;
  });
  afterEach(() => app.close());

  const about = (fragment: string): Array<{ level: string; text: string }> =>
    recorder.lines.filter((line) => line.text.includes(fragment));

  it('are routine for disconnects a client causes: one warning per path, then debug lines, never an error', async () => {
    const layer = app.get(ChannelLayerRegistry).layer();
    // The worker listens on websocket.connect only; a disconnect with no consumer still reaches
    // `handle` the way a test client or another router would bring it.
    const worker = app.get(ChannelsWorkerService).workers[0];
    for (let i = 0; i < 20; i++) {
      await worker.handle('websocket.disconnect', { reply_channel: `x!${i}`, path: '/chat/', code: 1000 });
      await worker.handle('websocket.disconnect', { reply_channel: `x!${i}`, path: '/other/\nforged', code: 1000 });
    }
    await layer.send('websocket.connect', { reply_channel: 'x!a', path: '/nobody/' });
    await sleep(100);
    const lines = about('No consumer');
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(lines.filter((line) => line.level === 'warn').map((line) => line.text)).toEqual([
      expect.stringContaining('websocket.disconnect" for path /chat/'),
      expect.stringContaining('for path /other/\\nforged'),
      expect.stringContaining('websocket.connect" for path /nobody/'),
    ]);
    expect(lines.filter((line) => line.level === 'debug')).toHaveLength(38);
    expect(worker.statistics.unrouted).toBe(41);
  });

  it('are an error, once per channel and path, on a channel of the app', async () => {
    const worker = app.get(ChannelsWorkerService).workers[0];
    for (let i = 0; i < 5; i++) await worker.handle('orders.created', { id: i });
    const lines = about('No consumer');
    expect(lines.map((line) => line.level)).toEqual(['error', 'debug', 'debug', 'debug', 'debug']);
  });
});
