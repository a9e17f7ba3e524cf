// The interface scenarios of `npm run bench`: WebSocket echo and HTTP, run after the layer and
// dispatch scenarios (their servers start only then, so their start-up skews nothing else).
import { formatHttp, HTTP_SETTINGS, runHttp, type HttpOutcome } from './http-bench';
import { RedisProbe } from './redis-stats';
import { startServers, stopAllServers, type ServerName } from './servers';
import { connect, disconnect } from './targets';
import { formatWsEcho, runWsEcho, WS_SETTINGS, type WsOutcome } from './ws-echo';

export interface InterfaceSections {
  websocketEcho: {
    settings: typeof WS_SETTINGS;
    /** Server processes that did not start. */
    serverErrors: Array<{ name: ServerName; error: string }>;
    scenarios: WsOutcome[];
  };
  http: { settings: typeof HTTP_SETTINGS; error?: string; scenarios: HttpOutcome[] };
}

export interface InterfaceResults {
  sections: InterfaceSections;
  text: string;
  failed: number;
}

export { stopAllServers };

export async function runInterfaceBenchmarks(redisUrl: string): Promise<InterfaceResults> {
  const admin = connect(redisUrl);
  const probe = new RedisProbe(admin);
  try {
    process.stderr.write('starting the WebSocket / HTTP servers\n');
    const { servers, failed: serverErrors } = await startServers(redisUrl);
    for (const { name, error } of serverErrors) process.stderr.write(`server ${name} FAILED: ${error}\n`);
    const ws = await runWsEcho(servers, async () => (await probe.cpuSeconds()) * 1000);
    const channels = servers.find((s) => s.name === 'nestjs-channels in-memory');
    const http = channels ? await runHttp(channels) : [];
    const httpError = channels ? undefined : 'the nestjs-channels in-memory server did not start';
    const failed =
      serverErrors.length + ws.filter((o) => o.error).length + http.filter((o) => o.error).length + (httpError ? 1 : 0);
    const text = [
      formatWsEcho(ws),
      ...serverErrors.map(({ name, error }) => `${name}: FAILED to start: ${error}`),
      '',
      httpError ? `HTTP: FAILED: ${httpError}` : formatHttp(http),
    ].join('\n');
    return {
      sections: {
        websocketEcho: { settings: WS_SETTINGS, serverErrors, scenarios: ws },
        http: { settings: HTTP_SETTINGS, ...(httpError ? { error: httpError } : {}), scenarios: http },
      },
      text,
      failed,
    };
  } finally {
    await stopAllServers();
    await disconnect(admin);
  }
}
