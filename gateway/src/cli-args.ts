// Command-line flags of `beamgate-gateway`, turned into a configuration. Flags override the
// config file's listen address; --upstream defines a single target "default" (quick starts
// and the benchmark). Never logs.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, validateConfig, type GatewayConfig } from './config.js';

export const USAGE = `usage: node dist/gateway/src/main.js [--config FILE] [--listen HOST:PORT]
       [--upstream HOST:PORT [--upstream-password-file FILE] [--upstream-security LIST]] [--data-dir DIR] [--log-level LEVEL]

  --config FILE                 YAML/JSON configuration (see docs/configuration.md)
  --listen HOST:PORT            address to serve on
  --upstream HOST:PORT          one VNC desktop, served at /desktop/default; without --config this
                                is a loopback-only trial without login (insecureNoLogin)
  --upstream-password-file F    its VNC password (first line of F)
  --upstream-security LIST      comma-separated: none,vnc,vencrypt-tls-vnc,... (default vnc,none)
  --data-dir DIR                embedded store and keys (default ./data)
  --log-level LEVEL             fatal|error|warn|info|debug|trace`;

export function configFromArgs(argv: readonly string[]): GatewayConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        upstream: { type: 'string' },
        'upstream-password-file': { type: 'string' },
        'upstream-security': { type: 'string' },
        'log-level': { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help === true) throw new ConfigError(USAGE);
  const base: Record<string, unknown> = v.config === undefined ? {} : { ...loadConfigFile(v.config) };
  if (v.listen !== undefined) base['listen'] = hostPort(v.listen, '--listen');
  if (v.upstream !== undefined) {
    const { host, port } = hostPort(v.upstream, '--upstream');
    base['targets'] = [{
      id: 'default', name: `Desktop ${host}:${port}`, host, port,
      security: (v['upstream-security'] ?? 'vnc,none').split(',').map(s => s.trim()),
      ...(v['upstream-password-file'] === undefined ? {} : { passwordFile: v['upstream-password-file'] }),
    }];
  }
  if (v['log-level'] !== undefined) base['log'] = { level: v['log-level'] };
  if (v['data-dir'] !== undefined) base['dataDir'] = v['data-dir'];
  // A quick start from flags alone has no identity provider: loopback only, no login (config.ts enforces it).
  if (v.config === undefined) base['insecureNoLogin'] = true;
  if (v.config === undefined && v.upstream === undefined) throw new ConfigError(`give --config FILE or --upstream HOST:PORT\n${USAGE}`);
  return validateConfig(base, v.config ?? 'command line');
}

function hostPort(text: string, flag: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) throw new ConfigError(`${flag} ${text}: expected HOST:PORT, e.g. 127.0.0.1:8080`);
  return { host: match[1], port };
}
