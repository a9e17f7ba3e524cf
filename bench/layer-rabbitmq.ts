// RabbitmqChannelLayer send → receive beside raw amqplib on the same broker, at 1, 16 and 256 in
// flight: the closed loop of layer-send-receive.ts. Runs alone (`npx tsx bench/layer-rabbitmq.ts`,
// RABBITMQ_URL or the local broker, else one it starts), or its targets join the layer section.
import { connect as amqpConnect, type ConsumeMessage } from 'amqplib';
import { pack, unpack } from 'msgpackr';
import { RabbitmqChannelLayer, type ChannelMessage } from '../src';
import { findOrStartRabbitmq } from '../test/support/rabbitmq-server';
import type { RoundResult } from './closed-loop-round';
import { runRound } from './layer-send-receive';
import { addCpuTime, Samples, type CpuTime } from './stats';
import { closeOnFailure, type Endpoint, type Target } from './targets';

/** Raised well above the in-flight levels so a send never fails with ChannelFull. */
const CAPACITY = 100_000;
const PREFIX = 'bench';

/** The `foo!` prefix a process receives `foo!bar` messages on, or the channel itself. */
function receiveName(channel: string): string {
  const bang = channel.indexOf('!');
  return bang === -1 ? channel : channel.slice(0, bang + 1);
}

export function rabbitmqLayerTarget(url: string, channel: string): Target {
  return {
    layer: 'rabbitmq layer',
    channel,
    open: async () => {
      const layer = new RabbitmqChannelLayer({ url, prefix: PREFIX, capacity: CAPACITY });
      await closeOnFailure(
        layer.waitUntilReady(10_000).then(() => layer.flush()),
        () => layer.close(),
      );
      const from = [receiveName(channel)];
      return {
        send: (message) => layer.send(channel, message),
        receive: async (timeout) => (await layer.receive(from, { block: true, timeout }))[1],
        close: () => layer.close(),
      };
    },
  };
}

/**
 * The least the layer's way of using RabbitMQ can cost: one connection, publishes on one confirm
 * channel to a queue declared once (each send resolves on its own confirm, as the layer's do), one
 * consumer with the prefetch a `receive` asks for (1) and an ack per message taken, the message
 * packed with msgpackr. No capacity, expiry, labels or groups.
 */
export function rawAmqplibTarget(url: string, channel: string): Target {
  return {
    layer: 'raw amqplib',
    channel,
    open: async () => {
      const model = await amqpConnect(url, { noDelay: true });
      const close = async (): Promise<void> => void (await model.close().catch(() => undefined));
      const queue = `${PREFIX}.raw.${channel}`;
      const publisher = await closeOnFailure(model.createConfirmChannel(), close);
      const consumer = await closeOnFailure(model.createChannel(), close);
      // Deleted by the broker a minute after the bench stops using it.
      await closeOnFailure(consumer.assertQueue(queue, { durable: false, arguments: { 'x-expires': 60_000 } }), close);
      await consumer.purgeQueue(queue);
      await consumer.prefetch(1);
      const held: ConsumeMessage[] = [];
      let waiter: ((message: ConsumeMessage | null) => void) | undefined;
      await consumer.consume(queue, (message) => {
        if (!message) return;
        if (waiter) {
          const resolve = waiter;
          waiter = undefined;
          resolve(message);
        } else held.push(message);
      });
      const take = (message: ConsumeMessage): ChannelMessage => {
        consumer.ack(message);
        return unpack(message.content) as ChannelMessage;
      };
      const endpoint: Endpoint = {
        send: (message) =>
          new Promise<void>((resolve, reject) => {
            publisher.publish('', queue, pack(message), {}, (error) => (error ? reject(error) : resolve()));
          }),
        receive: (timeout) => {
          const first = held.shift();
          if (first) return Promise.resolve(take(first));
          return new Promise((resolve) => {
            const timer = setTimeout(() => {
              waiter = undefined;
              resolve(null);
            }, timeout * 1000);
            waiter = (message) => {
              clearTimeout(timer);
              resolve(message ? take(message) : null);
            };
          });
        },
        close,
      };
      return endpoint;
    },
  };
}

export interface RabbitmqBenchRow {
  target: string;
  inFlight: number;
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerMessage: number;
}

/** Rounds of each target at each in-flight level, taking turns; one row per target and level. */
export async function runRabbitmqLayerBench(
  url: string,
  { rounds = 5, warmupMs = 300, measureMs = 1000, inFlight = [1, 16, 256] } = {},
): Promise<RabbitmqBenchRow[]> {
  const rows: RabbitmqBenchRow[] = [];
  for (const level of inFlight) {
    const targets = [
      rawAmqplibTarget(url, 'bench.echo'),
      rabbitmqLayerTarget(url, 'bench.echo'),
      rabbitmqLayerTarget(url, 'bench.reply!abc'),
    ];
    const state = targets.map(() => ({ samples: new Samples(), rounds: [] as RoundResult[] }));
    const endpoints = await Promise.all(targets.map((target) => target.open() as Promise<Endpoint>));
    try {
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < targets.length; i++) {
          const index = (i + round) % targets.length;
          const result = await runRound(
            endpoints[index],
            { inFlight: level, warmupMs, measureMs, receiveTimeoutSeconds: 5 },
            state[index].samples,
          );
          state[index].rounds.push(result);
        }
      }
    } finally {
      await Promise.all(endpoints.map((endpoint) => endpoint.close()));
    }
    targets.forEach((target, i) => {
      const cpu: CpuTime = state[i].rounds.map((r) => r.cpu).reduce(addCpuTime);
      const messages = state[i].rounds.reduce((sum, r) => sum + r.messages, 0);
      const latency = state[i].samples.summary();
      rows.push({
        target: `${target.layer} ${target.channel}`,
        inFlight: level,
        messagesPerSecond: messages / (cpu.wallMs / 1000),
        p50Ms: latency.p50,
        p99Ms: latency.p99,
        cpuMicrosPerMessage: (cpu.clientMs * 1000) / messages,
      });
    });
  }
  return rows;
}

/** The rows as a table, with the layer's throughput as a share of raw amqplib's at each level. */
export function formatRabbitmqRows(rows: readonly RabbitmqBenchRow[]): string {
  const lines = ['target                          in flight    msgs/s   p50 ms   p99 ms  µs CPU/msg  vs raw'];
  for (const row of rows) {
    const raw = rows.find((r) => r.target.startsWith('raw amqplib') && r.inFlight === row.inFlight);
    const share = raw && row !== raw ? `${((row.messagesPerSecond / raw.messagesPerSecond) * 100).toFixed(0)}%` : '';
    lines.push(
      `${row.target.padEnd(31)} ${String(row.inFlight).padStart(9)} ${row.messagesPerSecond.toFixed(0).padStart(9)} ` +
        `${row.p50Ms.toFixed(2).padStart(8)} ${row.p99Ms.toFixed(2).padStart(8)} ` +
        `${row.cpuMicrosPerMessage.toFixed(1).padStart(11)}  ${share}`,
    );
  }
  return lines.join('\n');
}

if (require.main === module) {
  void (async () => {
    const broker = await findOrStartRabbitmq();
    try {
      console.log(formatRabbitmqRows(await runRabbitmqLayerBench(broker.url)));
    } finally {
      await broker.stop();
    }
  })();
}
