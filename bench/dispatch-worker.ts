// The worker process of the Redis consumer dispatch scenario: `dispatch-worker.ts <redis url>`,
// started by worker-process.ts. It stops when the bench closes the IPC channel or goes away.
import { runWorker } from '../src';
import { serveParent } from './child-process';
import { DISPATCH_CAPACITY, DISPATCH_PREFIX, dispatchAppModule } from './dispatch-app';

async function main(url: string | undefined): Promise<void> {
  if (!url) throw new Error('usage: dispatch-worker.ts <redis url>');
  const module = dispatchAppModule({
    backend: 'redis',
    options: { hosts: [url], prefix: DISPATCH_PREFIX, capacity: DISPATCH_CAPACITY },
  });
  const { app } = await runWorker(module, { nest: { logger: ['error', 'warn'] } });
  serveParent(() => app.close());
}

main(process.argv[2]).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
