// Rounds run by a load generator in a helper process: the bench asks for a round over IPC, the
// helper runs it (its own loop, its own CPU meter) and sends back the result and the latencies.
import type { BenchChild } from './child-process';
import type { RoundResult, RoundSettings } from './closed-loop-round';
import { runRound } from './layer-send-receive';
import { Samples } from './stats';
import type { Endpoint, RemoteLoad } from './targets';

interface RoundRequest {
  type: 'round';
  settings: RoundSettings;
}

type RoundReply = { type: 'round'; round: RoundResult; latencies: Float64Array } | { type: 'error'; message: string };

function isRoundReply(message: unknown): message is RoundReply {
  const type = typeof message === 'object' && message !== null ? (message as RoundReply).type : undefined;
  return type === 'round' || type === 'error';
}

/** In the helper: runs each round the bench asks for on `endpoint`, one at a time. */
export function serveRounds(endpoint: Endpoint): void {
  let queue = Promise.resolve();
  process.on('message', (request: RoundRequest) => {
    queue = queue.then(async () => {
      let reply: RoundReply;
      try {
        const latencies = new Samples();
        const round = await runRound(endpoint, request.settings, latencies);
        reply = { type: 'round', round, latencies: latencies.toArray() };
      } catch (error) {
        reply = { type: 'error', message: error instanceof Error ? error.message : String(error) };
      }
      process.send?.(reply);
    });
  });
}

/** In the bench: rounds run by `child` (which called serveRounds); closing stops it. */
export function remoteLoad(child: BenchChild): RemoteLoad {
  return {
    runRound: async (settings) => {
      const request: RoundRequest = { type: 'round', settings };
      const reply = await child.request(request);
      if (!isRoundReply(reply)) throw new Error(`unexpected reply from the helper: ${JSON.stringify(reply)}`);
      if (reply.type === 'error') throw new Error(reply.message);
      return { round: reply.round, latencies: reply.latencies };
    },
    close: () => child.stop(),
  };
}
