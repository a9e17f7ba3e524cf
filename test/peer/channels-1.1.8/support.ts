// Helpers shared by the ports of Channels 1.1.8's tests: the parts of `channels.test`
// (ChannelTestCase, apply_routes, WSClient.receive) the package's testing kit does not have as such.
import type { Provider } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { ChannelLayerRegistry, ChannelsModule, type ChannelLayer, type ChannelsModuleRootOptions } from '../../../src';
import { Client, useCaptiveChannelLayers } from '../../../src/testing';

/**
 * `ChannelTestCase` + `apply_routes(...)`: a real Nest app with `ChannelsModule.forRoot(options)`,
 * its layers swapped for fresh in-memory ones and the in-process worker off (tests consume
 * explicitly with `Client`, as Channels' test client did).
 */
export async function startChannelsApp(
  options: ChannelsModuleRootOptions = {},
  providers: Provider[] = [],
): Promise<TestingModule> {
  const builder = Test.createTestingModule({ imports: [ChannelsModule.forRoot(options)], providers });
  const moduleRef = await useCaptiveChannelLayers(builder).compile();
  return moduleRef.init();
}

/** The app's layer under `alias` (Channels' `channel_layers[alias]`). */
export function layerOf(app: TestingModule, alias = 'default'): ChannelLayer {
  return app.get(ChannelLayerRegistry).layer(alias);
}

/**
 * `WSClient.receive(json=...)`: the next reply's `text`, JSON-decoded when `json` and it is a
 * string; the whole content when it has no `text`; null when there is no reply.
 */
export async function wsReceive(client: Client, json = true): Promise<unknown> {
  const content = await client.receive();
  if (content === null) return null;
  if (json && typeof content.text === 'string') return JSON.parse(content.text) as unknown;
  return 'text' in content ? content.text : content;
}

/** `WSClient.consume(..., check_accept=True)`: the connect consumer must have answered `{accept: True}`. */
export async function expectAccepted(client: Client): Promise<void> {
  const received = await wsReceive(client, false);
  if (JSON.stringify(received) !== JSON.stringify({ accept: true })) {
    throw new Error(`Connection rejected: ${JSON.stringify(received)} != '{accept: True}'`);
  }
}
