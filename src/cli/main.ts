#!/usr/bin/env node
import 'reflect-metadata';
import type { ChannelLayerRegistry } from '../registry/channel-layer-registry';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { APP_FACTORY_EXPORT, displayPath, loadModule, type LoadedModule } from './load-module';

// Nest and the library load only for a command that runs: help, version and usage errors stay quick.
const library = () =>
  Promise.all([
    import('../process/run-server'),
    import('../process/run-worker'),
    import('../registry/channel-layer-registry'),
  ]).then(([server, worker, registry]) => ({ ...server, ...worker, ...registry }));

type CommandName = 'runserver' | 'runworker';

/** One option of a command: its parseArgs settings and its help line. */
interface OptionSpec {
  name: string;
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder of its value in the help (`<host>`). */
  value?: string;
  meaning: string;
  default: string;
  example: string;
}

const MODULE_ARGUMENT = `<module>[#Export]  the file of your root Nest module: compiled JavaScript (dist/app.module.js), or
                     TypeScript when run under tsx. #Export names the module class (default AppModule).`;

const helpOption = (command: CommandName): OptionSpec => ({
  name: 'help',
  type: 'boolean',
  short: 'h',
  meaning: 'show this help and exit',
  default: 'off',
  example: `nestjs-channels ${command} --help`,
});

const COMMANDS: Record<CommandName, { summary: string; synopsis: string; options: OptionSpec[]; more: string }> = {
  runserver: {
    summary: "serve the app's HTTP and WebSockets (the interface server), with in-process workers",
    synopsis: 'nestjs-channels runserver <module>[#Export] [options]',
    options: [
      {
        name: 'bind',
        type: 'string',
        short: 'b',
        value: '<host>',
        meaning: 'address to listen on',
        default: '127.0.0.1',
        example: '-b 0.0.0.0',
      },
      {
        name: 'port',
        type: 'string',
        short: 'p',
        value: '<port>',
        meaning: 'port to listen on (0: any free port)',
        default: '8000',
        example: '-p 3000',
      },
      {
        name: 'noworker',
        type: 'boolean',
        meaning: 'run no workers in this process (interface only; run workers with runworker)',
        default: "off (the app's own worker setting)",
        example: '--noworker',
      },
      {
        name: 'http-timeout',
        type: 'string',
        value: '<seconds>',
        meaning: 'seconds before an unanswered HTTP request over channels gets a 503',
        default: "the app's interface.http.timeout",
        example: '--http-timeout 30',
      },
      {
        name: 'ws-protocol',
        type: 'string',
        multiple: true,
        value: '<protocol>',
        meaning: 'a WebSocket subprotocol the server speaks (repeatable)',
        default: "the app's interface.websocket.subprotocols",
        example: '--ws-protocol v1.chat',
      },
      {
        name: 'proxy-headers',
        type: 'boolean',
        meaning: 'trust X-Forwarded-For / -Port / -Proto and Daphne-Root-Path (behind a proxy only)',
        default: "off (the app's proxyHeaders setting)",
        example: '--proxy-headers',
      },
      {
        name: 'root-path',
        type: 'string',
        value: '<prefix>',
        meaning: 'where a proxy mounts the app: the root_path of every request and socket',
        default: "the app's rootPath setting (none)",
        example: '--root-path /app',
      },
      helpOption('runserver'),
    ],
    more: `App bootstrap (createApp):
  runserver builds the app with NestFactory.create(module) on Express, so what your main.ts adds
  (Fastify adapter, session middleware, global pipes, a global prefix…) is not there. To keep it,
  export from the module file, beside the module class, a factory named ${APP_FACTORY_EXPORT}:

    export async function ${APP_FACTORY_EXPORT}(module: DynamicModule | Type = AppModule) {
      const app = await NestFactory.create(module, new FastifyAdapter());
      app.setGlobalPrefix('api');   // …the rest of main.ts's set-up, but not app.listen()
      return app;
    }

  runserver calls it with your module already wrapped in this process's role (the options above),
  then checks it was built from that module and listens itself. Your main.ts can call the same
  factory: const app = await ${APP_FACTORY_EXPORT}(); await app.listen(3000).
  For an app with its own bootstrap, the recommended path is runServer() from your main.ts, which
  takes the same options and the factory: runServer(AppModule, { port: 8000, createApp }).

Examples:
  nestjs-channels runserver dist/app.module.js -p 8000           # server + in-process workers
  nestjs-channels runserver dist/app.module.js --noworker        # interface only, workers elsewhere
  npx tsx node_modules/.bin/nestjs-channels runserver src/app.module.ts   # TypeScript, no build`,
  },
  runworker: {
    summary: "run the app's consumers as a worker process (no HTTP server)",
    synopsis: 'nestjs-channels runworker <module>[#Export] [options]',
    options: [
      {
        name: 'only-channels',
        type: 'string',
        multiple: true,
        value: '<glob>',
        meaning: 'only listen on routed channels matching this glob (repeatable)',
        default: 'every routed channel',
        example: "--only-channels 'chat.*'",
      },
      {
        name: 'exclude-channels',
        type: 'string',
        multiple: true,
        value: '<glob>',
        meaning: 'never listen on channels matching this glob (repeatable)',
        default: 'none',
        example: "--exclude-channels 'http.*'",
      },
      {
        name: 'layer',
        type: 'string',
        value: '<alias>',
        meaning: 'the channel layer whose consumers to run',
        default: 'every layer with routes',
        example: '--layer redis',
      },
      {
        name: 'controllers',
        type: 'boolean',
        meaning: "also build the app's HTTP layer to run its controllers (interface.http.mode 'all')",
        default: 'off',
        example: '--controllers',
      },
      {
        name: 'verbose',
        type: 'boolean',
        short: 'v',
        meaning: 'print every consumer run with its channel and duration',
        default: 'off',
        example: '-v',
      },
      helpOption('runworker'),
    ],
    more: `A worker has no HTTP set-up, so it does not call the module file's ${APP_FACTORY_EXPORT} export, except
with --controllers: then the controllers run in an app built by ${APP_FACTORY_EXPORT}(module) (global prefix,
pipes and middleware as in main.ts), if the file exports one. With no channel to listen on (no routes,
or every one filtered out) it says so and exits 1.

Examples:
  nestjs-channels runworker dist/app.module.js
  nestjs-channels runworker dist/app.module.js --only-channels 'chat.*' -v
  node --import tsx node_modules/.bin/nestjs-channels runworker src/app.module.ts`,
  },
};

const USAGE = `Usage:
  nestjs-channels runserver <module>[#Export] [options]
  nestjs-channels runworker <module>[#Export] [options]
  nestjs-channels --help | help [command] | <command> --help
  nestjs-channels --version`;

function mainHelp(): string {
  return `nestjs-channels ${version()}: Django Channels 1.x for NestJS.

${USAGE}

Commands:
  runserver   ${COMMANDS.runserver.summary}
  runworker   ${COMMANDS.runworker.summary}
  help        show this help, or a command's (help runserver)

Options:
  -h, --help  show this help and exit
  --version   print the version of nestjs-channels and exit

Arguments:
  ${MODULE_ARGUMENT}

Examples:
  nestjs-channels runserver dist/app.module.js --noworker
  nestjs-channels runworker dist/app.module.js --only-channels 'chat.*'
  nestjs-channels runserver --help

A bad command line exits 2; a module that cannot be loaded or run exits 1.
`;
}

function commandUsage(name: CommandName): string {
  return `Usage: ${COMMANDS[name].synopsis}\nSee nestjs-channels ${name} --help for its options.`;
}

function commandHelp(name: CommandName): string {
  const command = COMMANDS[name];
  const flag = (option: OptionSpec): string =>
    `${option.short ? `-${option.short}, ` : '    '}--${option.name}${option.value ? ` ${option.value}` : ''}`;
  const width = Math.max(...command.options.map((option) => flag(option).length)) + 2;
  const options = command.options.map(
    (option) =>
      `  ${flag(option).padEnd(width)}${option.meaning}\n` +
      `  ${' '.repeat(width)}default: ${option.default}; e.g. ${option.example}`,
  );
  return `${command.synopsis}

${command.summary[0].toUpperCase()}${command.summary.slice(1)}.

Arguments:
  ${MODULE_ARGUMENT}

Options:
${options.join('\n')}

${command.more}
`;
}

/** The version in this package's own package.json, found upwards from this file (src/ or dist/src/). */
function version(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    if (json.name === 'nestjs-channels' && typeof json.version === 'string') return json.version;
  }
  return 'unknown';
}

class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: CommandName,
  ) {
    super(message);
  }
}

/** parseArgs with the command's options; its errors (unknown option, missing value…) are usage errors. */
function parse(name: CommandName, args: string[]): ReturnType<typeof parseArgs> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const option of COMMANDS[name].options) {
    options[option.name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.multiple ? { multiple: true } : {}),
    };
  }
  try {
    return parseArgs({ args, allowPositionals: true, strict: true, options });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      // Node's first sentence is the point ("Unknown option '--x'"); the rest is about '--'.
      const message = (error as Error).message.split(/\.\s/)[0];
      throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1), name);
    }
    throw error;
  }
}

function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '-h' || arg === '--help');
}

function oneModule(name: CommandName, positionals: readonly string[]): string {
  if (positionals.length === 0) throw new UsageError(`${name} takes the file of your Nest module`, name);
  if (positionals.length > 1) throw new UsageError(`${name} takes one module, got ${positionals.join(' ')}`, name);
  return positionals[0];
}

const strings = (value: unknown): string[] | undefined => value as string[] | undefined;
const text = (value: unknown): string | undefined => value as string | undefined;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    const topic = rest[0];
    if (topic === undefined) process.stdout.write(mainHelp());
    else if (topic === 'runserver' || topic === 'runworker') process.stdout.write(commandHelp(topic));
    else throw new UsageError(`no help for "${topic}": the commands are runserver and runworker`);
    return;
  }
  if (command === '--version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (command !== 'runserver' && command !== 'runworker') {
    if (command === undefined) throw new UsageError('no command');
    throw new UsageError(command.startsWith('-') ? `unknown option '${command}'` : `unknown command "${command}"`);
  }
  if (wantsHelp(rest)) {
    process.stdout.write(commandHelp(command));
    return;
  }
  if (command === 'runserver') return runserver(rest);
  return runworker(rest);
}

async function runserver(args: string[]): Promise<void> {
  const { values, positionals } = parse('runserver', args);
  const spec = oneModule('runserver', positionals);
  const port = Number(values.port ?? '8000');
  if (!/^\d+$/.test(String(values.port ?? '8000')) || port > 65535) {
    throw new UsageError(`bad port: ${String(values.port)} (0 to 65535)`, 'runserver');
  }
  const timeout = text(values['http-timeout']);
  const httpTimeout = timeout === undefined ? undefined : Number(timeout);
  if (httpTimeout !== undefined && !(httpTimeout > 0)) {
    throw new UsageError(`--http-timeout takes seconds > 0, got ${timeout}`, 'runserver');
  }
  const { runServer } = await library();
  const loaded = loadModule(spec);
  const app = await runServer(loaded.module, {
    host: text(values.bind) ?? '127.0.0.1',
    port,
    noWorker: values.noworker === true,
    httpTimeout,
    wsProtocols: strings(values['ws-protocol']),
    proxyHeaders: values['proxy-headers'] === true,
    rootPath: text(values['root-path']),
    createApp: loaded.createApp,
  });
  const how = loaded.createApp ? ` (app built by ${APP_FACTORY_EXPORT} of ${displayPath(loaded.file)})` : '';
  process.stdout.write(`nestjs-channels: serving on ${await app.getUrl()}${how}\n`);
}

async function runworker(args: string[]): Promise<void> {
  const { values, positionals } = parse('runworker', args);
  const { runWorker, ChannelLayerRegistry } = await library();
  const loaded = loadModule(oneModule('runworker', positionals));
  const layer = text(values.layer);
  const onlyChannels = strings(values['only-channels']);
  const excludeChannels = strings(values['exclude-channels']);
  const controllers = values.controllers === true;
  const { app, worker } = await runWorker(loaded.module, {
    onlyChannels,
    excludeChannels,
    layers: layer ? [layer] : undefined,
    controllers,
    createApp: controllers ? loaded.createApp : undefined,
  });
  const channels = worker.workers.flatMap((w) => w.channels);
  if (channels.length === 0) {
    const message = noConsumers(
      app.get(ChannelLayerRegistry, { strict: false }),
      loaded,
      layer,
      onlyChannels,
      excludeChannels,
    );
    await app.close();
    throw new Error(message);
  }
  if (values.verbose === true) {
    worker.on('consumerFinished', ({ message, consumer, durationMs }) =>
      process.stdout.write(`${message.channel.name} → ${consumer} (${durationMs.toFixed(1)} ms)\n`),
    );
  }
  process.stdout.write(`nestjs-channels: worker listening on ${channels.join(', ')}\n`);
}

/** Why a worker has nothing to listen on: no routes on its layers, or every routed channel filtered out. */
function noConsumers(
  registry: ChannelLayerRegistry,
  loaded: LoadedModule,
  layer: string | undefined,
  onlyChannels: readonly string[] | undefined,
  excludeChannels: readonly string[] | undefined,
): string {
  const aliases = layer ? [layer] : registry.aliases;
  const routed = aliases
    .filter((alias) => registry.router(alias).channels.length > 0)
    .map((alias) => `on layer "${alias}": ${registry.router(alias).channels.join(', ')}`);
  const module = `${loaded.module.name} (${displayPath(loaded.file)})`;
  const layers = aliases.map((alias) => `"${alias}"`).join(', ');
  if (routed.length === 0) {
    return (
      `no consumers to run: ${module} routes no channels on layer ${layers}` +
      `${layer ? ' (--layer)' : ''}. Add @Consumer('channel') methods to its providers, ` +
      `or routing to its ChannelsModule.forRoot({ layers }).`
    );
  }
  const filters = [
    ...(onlyChannels ?? []).map((glob) => `--only-channels '${glob}'`),
    ...(excludeChannels ?? []).map((glob) => `--exclude-channels '${glob}'`),
  ].join(' ');
  const by = filters || "the app's worker.onlyChannels / excludeChannels";
  return `no consumers to run: ${module} routes ${routed.join('; ')}, and ${by} leave(s) none of them.`;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`nestjs-channels: ${error instanceof Error ? error.message : String(error)}\n`);
  if (error instanceof UsageError) {
    process.stderr.write(`${error.command ? commandUsage(error.command) : `${USAGE}\nSee nestjs-channels --help.`}\n`);
  }
  process.exit(error instanceof UsageError ? 2 : 1);
});
