/**
 * A second process for the RabbitMQ tests (`node --import tsx`): MODE=peer joins a group and
 * answers on `parent.inbox`; MODE=sender sends numbered messages and prints each confirmed one.
 */
import { ChannelFull, RabbitmqChannelLayer } from '../../../src';

async function main(): Promise<void> {
  const layer = new RabbitmqChannelLayer({
    url: process.env.RABBITMQ_URL,
    prefix: process.env.LAYER_PREFIX,
    capacity: 100_000,
  });
  await layer.waitUntilReady(10_000);
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    void layer.close().then(() => process.exit(0));
  });
  if (process.env.MODE === 'sender') {
    process.stdout.write('worker ready\n');
    // 32 sends in flight at a time, as a busy interface has: the parent kills the process mid-way.
    let next = 0;
    const sendOne = async (): Promise<void> => {
      while (!stopping) {
        const n = next++;
        await layer.send('killed.mid', { n });
        process.stdout.write(`sent ${n}\n`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, sendOne));
    return;
  }
  await layer.groupAdd('room', 'peer!a');
  process.stdout.write('worker ready\n');
  while (!stopping) {
    const batch = await layer.receiveMany(['peer!', 'work'], { max: 8, block: true, timeout: 1 });
    for (const [channel, message] of batch) {
      try {
        await layer.send('parent.inbox', { from: 'peer', channel, message });
      } catch (error) {
        if (!(error instanceof ChannelFull)) throw error;
      }
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`peer failed: ${String(error)}\n`);
  process.exit(1);
});
