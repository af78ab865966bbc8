#!/usr/bin/env bun
import pkg from '../package.json' with { type: 'json' };
import { readInputFile } from './cli/args.ts';
import { ConfigError, loadConfig } from './config/config.ts';
import { parseSystemMap } from './map/system-map.ts';

const version: string = pkg.version;

const help = `tracepulse ${version}: edge-first debugging agent for EV charging stations

Usage:
  tracepulse [serve]            run the service (configuration from TRACEPULSE_* environment variables)
  tracepulse map check FILE     validate a system map; prints problems and warnings, exit 1 on errors
  tracepulse map import everest CONFIG.yaml [--out FILE] [--repo owner/name]
                                write a system map from an EVerest config (active_modules, connections)
  tracepulse ingest ocpp-log FILE --charge-point ID [--url URL] [--follow]
                                send a libocpp message log's frames to a running TracePulse
  tracepulse rules check FILE   validate a user rule file (TRACEPULSE_RULES_FILE); rules list: the built-in pack
  tracepulse user add NAME --role viewer|engineer|admin [--password-stdin]
                                add a UI user (also: user list, user remove NAME)
  tracepulse eval PATH... [--json] [--cases] [--min-top1 P]
                                score recorded, labelled cases (files or folders) through the real pipeline
  tracepulse replay FILE.ndjson [--json] [--url URL]
                                feed a recorded stream of maps, changes, logs and events; print the reports
  tracepulse --version          print the version
  tracepulse --help             this text

See README.md for every setting.`;

/** "1 warning", "2 warnings". */
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Sub-commands; each returns the process exit code. */
const commands: Record<string, (args: string[]) => Promise<number>> = {
  serve: async () => {
    const { startApp } = await import('./app.ts');
    const app = await startApp(loadConfig(), { env: process.env });
    // Start-up code runs once; the build raises the JIT's tier-up thresholds for it (scripts/build).
    Bun.unsafe.setJITPolicy(1);
    // Start-up garbage (the parsed map and config, schemas, migration SQL) is collected once now rather
    // than whenever the heap next grows: an idle gateway holds 1-2 MB less from its first second.
    setTimeout(() => Bun.gc(true), 100).unref();
    await new Promise<void>((resolve) => {
      let signalled = false;
      const onSignal = (sig: string) => {
        if (signalled) return;
        signalled = true;
        process.stderr.write(`INFO [tracepulse] ${sig} received; shutting down\n`);
        app.stop().then(resolve, (err) => {
          process.stderr.write(`ERROR [tracepulse] shutdown failed: ${String(err)}\n`);
          resolve();
        });
      };
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
    });
    return 0;
  },
  user: async (args) => (await import('./cli/user.ts')).runUserCommand(args),
  eval: async (args) => (await import('./cli/eval.ts')).evalCommand(args),
  replay: async (args) => (await import('./cli/replay.ts')).replayCommand(args),
  rules: async (args) => (await import('./cli/rules.ts')).rulesCommand(args),
  ingest: async (args) => {
    const stop = new AbortController();
    process.on('SIGINT', () => stop.abort());
    process.on('SIGTERM', () => stop.abort());
    const { ingestCommand } = await import('./cli/ingest.ts');
    return ingestCommand(args, { out: process.stdout, err: process.stderr, signal: stop.signal });
  },
  map: async (args) => {
    const [sub, file] = args;
    if (sub === 'import') return (await import('./cli/map-import.ts')).mapImportCommand(args.slice(1));
    if (sub !== 'check' || !file) {
      process.stderr.write('usage: tracepulse map check FILE | map import everest CONFIG.yaml\n');
      return 2;
    }
    const text = readInputFile(file, process.stderr);
    if (text === null) return 1;
    const r = parseSystemMap(text);
    if (!r.ok) {
      for (const p of r.problems) process.stdout.write(`error: ${p.message}\n`);
      return 1;
    }
    for (const w of r.warnings) process.stdout.write(`warning: ${w.message}\n`);
    process.stdout.write(
      `ok: ${count(r.graph.services.size, 'service')}, ${count(r.graph.triggers.size, 'trigger')}, ${count(r.warnings.length, 'warning')}\n`,
    );
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const name = first ?? 'serve';
  // Only serve has a start-up worth keeping out of the JIT; the other commands do their work at once.
  if (name !== 'serve') Bun.unsafe.setJITPolicy(1);
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command '${first}'\n\n${help}\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78; // EX_CONFIG: systemd's start limit stops a restart loop on bad config.
    }
    // One line each (the journal shows it as the reason); exit codes are documented in docs/gateway.md.
    if (err instanceof Error && err.name === 'StartupError') {
      process.stderr.write(`fatal: ${err.message}\n`);
      return (err as Error & { exitCode: number }).exitCode;
    }
    const debug = process.env.TRACEPULSE_LOG_LEVEL === 'debug';
    process.stderr.write(
      `fatal: ${err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err)}\n`,
    );
    return 1;
  }
}

const argv = process.argv.slice(2);
const code = await main(argv);
// Bun completes writes to a pipe in the background and process.exit() drops what the reader has not
// taken yet (an `eval --json` report beyond the pipe's 64 KiB): a one-shot command ends by letting
// the event loop empty, which flushes them. The service exits outright once it has stopped.
if ((argv[0] ?? 'serve') === 'serve') process.exit(code);
process.exitCode = code;
