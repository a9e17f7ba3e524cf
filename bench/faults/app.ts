// The apps under test of the faults section, one per helper process (bench/faults/helpers.ts):
//   app.ts echo-memory|echo-redis <port> [redis url]   websocket.connect accepts, websocket.receive echoes
//   app.ts body-memory|body-redis <port> [redis url]   an http.request consumer that never reads the body
//   app.ts chat-interface <port> <redis url>           the chat's interface process (runServer, no worker)
//   app.ts chat-worker 0 <redis url>                   the chat's worker process (runWorker)
// Everything at the library's defaults except the body apps' interface.http.timeout (5 s). Answers
// AppRequests and memory requests (bench/connections/process-memory.ts) over IPC; exits when the
// bench goes.
import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext, type Type } from '@nestjs/common';
import {
  ChannelLayerRegistry,
  ChannelsInterfaceService,
  ChannelsModule,
  Consumer,
  Group,
  readHttpRequest,
  runServer,
  runWorker,
  sendHttpResponse,
  type ChannelLayerConfig,
  type InterfaceModuleOptions,
  type Message,
} from '../../src';
import { serveParent } from '../child-process';
import { answerMemoryRequests } from '../connections/process-memory';
import { EchoConsumers } from '../echo-consumers';
import { roomConsumers } from '../room-consumers';
import {
  APP_KINDS,
  BODY_APP_TIMEOUT_S,
  CHAT_GROUP,
  FAULTS_PREFIX,
  READ_PATH,
  UNREAD_PATH,
  type AppKind,
  type AppRequest,
  type MemoryPeaks,
  type StatisticsReply,
} from './protocol';

const LOGGER = ['error', 'warn'] as const;
/** A close that hangs must not keep a helper alive once the bench has gone. */
const CLOSE_DEADLINE_MS = 5000;
const BODY_SAMPLE_MS = 10;

/** Takes every websocket.disconnect, so none waits unread on its channel (the echo app's, beside EchoConsumers). */
@Injectable()
class DisconnectConsumers {
  @Consumer('websocket.disconnect')
  disconnect(): void {}
}

@Injectable()
class BodyConsumers {
  /** Takes the request and does nothing: the body channel is never read, no answer is sent (503 at the timeout). */
  @Consumer('http.request', { path: new RegExp(`^${UNREAD_PATH}$`) })
  unread(): void {}

  /** The warm-up's route: reads the whole body, answers 200. */
  @Consumer('http.request', { path: new RegExp(`^${READ_PATH}$`) })
  async read(message: Message): Promise<void> {
    const request = await readHttpRequest(message);
    await sendHttpResponse(message, { body: `read ${request.body.length} bytes` });
  }
}

/** The chat's lines: each frame goes to the whole group (the room's consumers keep every socket in it). */
@Injectable()
class ChatLineConsumers {
  @Consumer('websocket.receive')
  async receive(message: Message): Promise<void> {
    await new Group(CHAT_GROUP).send({ text: message.content.text as string });
  }
}

/** A chat room: every socket joins the group on connect, leaves it on disconnect; each frame goes to the group. */
const CHAT_CONSUMERS = [roomConsumers(CHAT_GROUP), ChatLineConsumers];

function appModule(
  layer: ChannelLayerConfig,
  consumers: readonly Type<unknown>[],
  worker: boolean,
  options: InterfaceModuleOptions = {},
): Type<unknown> {
  @Module({
    imports: [ChannelsModule.forRoot({ layers: { default: layer }, worker: { enabled: worker }, interface: options })],
    providers: [...consumers],
  })
  class FaultsAppModule {}
  return FaultsAppModule;
}

interface Running {
  app: INestApplicationContext;
  /** The interface's counters; undefined in a worker process. */
  service: ChannelsInterfaceService | undefined;
}

async function start(kind: string, port: number, redisUrl: string | undefined): Promise<Running> {
  if (!(APP_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`usage: app.ts <${APP_KINDS.join('|')}> <port> [redis url]`);
  }
  const layer = (): ChannelLayerConfig => {
    if (kind.endsWith('-memory')) return { backend: 'memory' };
    if (!redisUrl) throw new Error(`${kind} needs a redis url`);
    return { backend: 'redis', options: { hosts: [redisUrl], prefix: FAULTS_PREFIX } };
  };
  const serve = async (module: Type<unknown>, noWorker = false): Promise<Running> => {
    const app = await runServer(module, { port, host: '127.0.0.1', noWorker, nest: { logger: [...LOGGER] } });
    return { app, service: app.get(ChannelsInterfaceService, { strict: false }) };
  };
  const body: InterfaceModuleOptions = { http: { timeout: BODY_APP_TIMEOUT_S } };
  switch (kind as AppKind) {
    case 'echo-memory':
    case 'echo-redis':
      return serve(appModule(layer(), [EchoConsumers, DisconnectConsumers], true));
    case 'body-memory':
    case 'body-redis':
      return serve(appModule(layer(), [BodyConsumers], true, body));
    case 'chat-interface':
      return serve(appModule(layer(), CHAT_CONSUMERS, false), true);
    case 'chat-worker': {
      const { app } = await runWorker(appModule(layer(), CHAT_CONSUMERS, true), { nest: { logger: [...LOGGER] } });
      return { app, service: undefined };
    }
  }
}

function serveRequests({ app, service }: Running): void {
  const registry = app.get(ChannelLayerRegistry, { strict: false });
  let peak = 0;
  let memoryPeaks: MemoryPeaks | undefined;
  let watcher: NodeJS.Timeout | undefined;
  const reply = (message: object): void => void process.send?.(message);
  const statistics = async (): Promise<StatisticsReply> => {
    const layer = registry.layer();
    try {
      const global = await layer.globalStatistics?.();
      return {
        type: 'statistics',
        ...(service ? { interface: service.statistics() } : {}),
        ...(global ? { layer: { ...global } as Record<string, number> } : {}),
        bodyBytesHeldPeak: peak,
        ...(memoryPeaks ? { memoryPeaks: { ...memoryPeaks } } : {}),
      };
    } catch (error) {
      return { type: 'statistics', bodyBytesHeldPeak: peak, error: (error as Error).message };
    }
  };
  process.on('message', (raw: unknown) => {
    const request = raw as AppRequest;
    switch (request?.type) {
      case 'statistics':
        void statistics().then(reply);
        return;
      case 'watch-body-bytes':
        peak = service?.statistics().httpBodyBytesHeld ?? 0;
        memoryPeaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
        clearInterval(watcher);
        watcher = setInterval(() => {
          peak = Math.max(peak, service?.statistics().httpBodyBytesHeld ?? 0);
          const usage = process.memoryUsage();
          for (const key of ['rss', 'heapUsed', 'external', 'arrayBuffers'] as const) {
            memoryPeaks![key] = Math.max(memoryPeaks![key], usage[key]);
          }
        }, BODY_SAMPLE_MS);
        watcher.unref();
        reply({ type: 'watching' });
        return;
      default:
      // Memory requests are answered by answerMemoryRequests.
    }
  });
  // A reply sent after the bench has gone (EPIPE) must not crash the helper: it exits on disconnect.
  process.on('error', () => undefined);
  answerMemoryRequests();
  serveParent(async () => {
    clearInterval(watcher);
    setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref();
    await app.close();
  });
}

start(process.argv[2], Number(process.argv[3] ?? 0), process.argv[4]).then(serveRequests, (error: unknown) => {
  console.error(error);
  process.exit(1);
});
