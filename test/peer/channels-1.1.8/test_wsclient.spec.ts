// Port of channels 1.1.8 tests/test_wsclient.py (WSClientTests): the cases that run consumers.
// The cases that test WSClient's own helpers (set_cookie/get_cookies, _get_content, `ordered`
// numbering) have no counterpart in the package's testing Client and are listed in COVERAGE.md.
//
// Translation notes: `WSClient` is the package's `Client`, whose `send` adds only the reply
// channel; what WSClient added to each message is put in the content here as WSClient did: `path`
// ('/' by default; on a connect the query string split off into `query_string`, on other channels
// dropped), `headers` (its legacy dict form, with the `sessionid` cookie on the first message only)
// and, with `ordered=True`, `order` counting from 0. `receive(json=...)` is `wsReceive`.
import { Injectable } from '@nestjs/common';
import {
  ChannelSocketException,
  Consumer,
  EnforceOrdering,
  readHttpRequest,
  route,
  type ChannelMessage,
  type Message,
} from '../../../src';
import { Client } from '../../../src/testing';
import { startChannelsApp, wsReceive } from './support';

/** The headers WSClient put in every message: a cookie header, the session cookie on the first only. */
const firstHeaders = { cookie: Buffer.from('sessionid=wsclientsessionkey') };
const laterHeaders = { cookie: Buffer.from('') };

@Injectable()
class OrderedConsumers {
  @Consumer('websocket.receive')
  @EnforceOrdering()
  async consumer(message: Message): Promise<void> {
    await message.replyChannel!.send({ text: message.content.text as string });
  }
}

describe('WSClientTests (channels 1.1.8 tests/test_wsclient.py)', () => {
  it('test_ordering: ordered messages 0, 1, 2 come through enforce_ordering in order', async () => {
    const app = await startChannelsApp({}, [OrderedConsumers]);
    try {
      const client = new Client(app); // WSClient(ordered=True)
      const content = (order: number, text: string): ChannelMessage => ({
        path: '/',
        headers: order === 0 ? firstHeaders : laterHeaders,
        order,
        text,
      });
      await client.sendAndConsume('websocket.receive', content(0, '1')); // order = 0
      await client.sendAndConsume('websocket.receive', content(1, '2')); // order = 1
      await client.sendAndConsume('websocket.receive', content(2, '3')); // order = 2
      expect(await wsReceive(client)).toBe(1);
      expect(await wsReceive(client)).toBe(2);
      expect(await wsReceive(client)).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('test_get_params_with_consumer: the query string reaches the connect consumer only', async () => {
    const consumer = async (message: Message): Promise<void> => {
      // message.content['method'] = 'FAKE' made the message parse as a request for AsgiRequest;
      // readHttpRequest needs no method. dict(AsgiRequest(message).GET): each key with its values.
      const params: Record<string, string[]> = {};
      for (const [key, value] of (await readHttpRequest(message)).query) (params[key] ??= []).push(value);
      await message.replyChannel!.send({ text: params });
    };
    const app = await startChannelsApp({
      layers: {
        default: {
          routing: [
            route('websocket.receive', consumer, { path: '^/test' }),
            route('websocket.connect', consumer, { path: '^/test' }),
          ],
        },
      },
    });
    try {
      const client = new Client(app); // WSClient(ordered=True)
      // path = '/test?key1=val1&key2=val2&key1=val3'
      await client.sendAndConsume('websocket.connect', {
        path: '/test',
        query_string: 'key1=val1&key2=val2&key1=val3',
        headers: firstHeaders,
        order: 0,
      }); // check_accept=False
      expect(await wsReceive(client)).toEqual({ key2: ['val2'], key1: ['val1', 'val3'] });

      await client.sendAndConsume('websocket.receive', { path: '/test', headers: laterHeaders, order: 1 });
      expect(await wsReceive(client)).toEqual({});
    } finally {
      await app.close();
    }
  });

  it('test_channel_socket_exception: a ChannelSocketException raised by the consumer has its run() called', async () => {
    class MyChannelSocketException extends ChannelSocketException {
      async run(message: Message): Promise<void> {
        await message.replyChannel!.send({ text: 'error' });
      }
    }

    const consumer = (): never => {
      throw new MyChannelSocketException('error');
    };
    const app = await startChannelsApp({ layers: { default: { routing: [route('websocket.receive', consumer)] } } });
    try {
      const client = new Client(app);
      await client.sendAndConsume('websocket.receive', { path: '/', headers: firstHeaders });
      expect(await wsReceive(client, false)).toBe('error');
    } finally {
      await app.close();
    }
  });
});
