// Port of channels 1.1.8 tests/test_security.py (OriginValidationTestCase).
import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  AllowedHostsOnly,
  ChannelLayerRegistry,
  Consumer,
  DenyConnection,
  Worker,
  type ChannelMessage,
  type ChannelsModuleRootOptions,
} from '../../../src';
import { startChannelsApp } from './support';

/**
 * The original decorated a plain function `connect(message)` with `@allowed_hosts_only` and called it
 * directly. Here the decorator is a guard on a `websocket.connect` consumer, which only acts when the
 * consumer is invoked through the package; so the message goes through a Worker (`handle`), and
 * "raises DenyConnection" is the DenyConnection the worker saw the consumer end with.
 */
@Injectable()
class Connects {
  results: boolean[] = [];

  @Consumer('websocket.connect')
  @AllowedHostsOnly()
  connect(): boolean {
    this.results.push(true);
    return true;
  }
}

/** Runs `content` as a `websocket.connect` message; resolves what the consumer returned and what it ended with. */
async function connect(app: TestingModule, content: ChannelMessage): Promise<{ returned: boolean[]; error: unknown }> {
  const { layer, router } = app.get(ChannelLayerRegistry).get();
  const worker = new Worker(layer, router);
  let error: unknown;
  worker.on('consumerFinished', (event) => (error = event.error));
  const consumers = app.get(Connects);
  consumers.results = [];
  // `Message(content, 'websocket.connect', None)`: no reply_channel, as in the original.
  await worker.handle('websocket.connect', content);
  return { returned: consumers.results, error };
}

async function start(options: ChannelsModuleRootOptions): Promise<TestingModule> {
  return startChannelsApp(options, [Connects]);
}

describe('OriginValidationTestCase (channels 1.1.8 tests/test_security.py)', () => {
  it('test_valid_origin: an Origin of an allowed host passes', async () => {
    // @override_settings(ALLOWED_HOSTS=['example.com']) → security.allowedHosts
    const app = await start({ security: { allowedHosts: ['example.com'] } });
    try {
      const { returned, error } = await connect(app, {
        headers: [[Buffer.from('origin'), Buffer.from('http://example.com')]],
      });
      expect(error).toBeUndefined();
      expect(returned).toEqual([true]);
    } finally {
      await app.close();
    }
  });

  it('test_invalid_origin: an Origin of another host is denied', async () => {
    const app = await start({ security: { allowedHosts: ['example.com'] } });
    try {
      const { returned, error } = await connect(app, {
        headers: [[Buffer.from('origin'), Buffer.from('http://example.org')]],
      });
      expect(error).toBeInstanceOf(DenyConnection);
      expect(returned).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('test_invalid_origin_header: a missing, empty or non-ASCII Origin is denied', async () => {
    // The original runs with the test settings' ALLOWED_HOSTS (none set): the package's default.
    const app = await start({});
    try {
      const invalidHeaders: Buffer[][] = [
        [], // origin header missing
        [Buffer.from('origin'), Buffer.from('')], // origin header empty
        [Buffer.from('origin'), Buffer.from([0xc3, 0xa4])], // non-ascii
      ];
      for (const headers of invalidHeaders) {
        const { returned, error } = await connect(app, { headers: [headers] });
        expect(error).toBeInstanceOf(DenyConnection);
        expect(returned).toEqual([]);
      }
    } finally {
      await app.close();
    }
  });
});
