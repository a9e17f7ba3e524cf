import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ChannelsModule, ChannelsWorkerService, Consumer, runServer, runWorker, type Message } from '../../src';
import { openSocket } from '../support/websocket';

@Injectable()
class RoleConsumers {
  @Consumer('role.a')
  a(_message: Message): void {}

  @Consumer('role.b')
  b(_message: Message): void {}

  @Consumer('websocket.connect')
  async connect(message: Message): Promise<void> {
    await message.replyChannel!.send({ accept: true });
  }
}

@Module({ imports: [ChannelsModule.forRoot()], providers: [RoleConsumers] })
class RoleAppModule {}

const quiet = { logger: false as const };
const channelsOf = (app: INestApplicationContext): string[] =>
  app.get(ChannelsWorkerService, { strict: false }).workers.flatMap((worker) => worker.channels);

describe('process roles (runServer / runWorker)', () => {
  const apps: INestApplicationContext[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  it('belong to the app they start: an app created at the same time keeps its own settings', async () => {
    const [{ app: worker }, plain] = await Promise.all([
      runWorker(RoleAppModule, { onlyChannels: ['role.a'], nest: quiet, allowInMemoryLayer: true }),
      NestFactory.createApplicationContext(RoleAppModule, quiet).then((app) => app.init()),
    ]);
    apps.push(worker, plain);
    expect(channelsOf(worker)).toEqual(['role.a']);
    expect(channelsOf(plain)).toEqual(['role.a', 'role.b', 'websocket.connect']);
  });

  it('runServer({ noWorker }) runs no worker in its app only', async () => {
    const [server, plain] = await Promise.all([
      runServer(RoleAppModule, { port: 0, noWorker: true, nest: quiet }),
      NestFactory.createApplicationContext(RoleAppModule, quiet).then((app) => app.init()),
    ]);
    apps.push(server, plain);
    expect(channelsOf(server)).toEqual([]);
    expect(channelsOf(plain)).toEqual(['role.a', 'role.b', 'websocket.connect']);
  });

  it("runServer's interface settings reach its sockets: the subprotocol it was given is chosen", async () => {
    const server = await runServer(RoleAppModule, { port: 0, wsProtocols: ['chat.v1'], nest: quiet });
    apps.push(server);
    const ws = await openSocket(`${(await server.getUrl()).replace('http', 'ws')}/`, ['chat.v2', 'chat.v1']);
    expect(ws.protocol).toBe('chat.v1');
    ws.close();
  });
});
