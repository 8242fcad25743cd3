// Gateway configuration: one YAML (or JSON) file, validated with zod; command-line flags may
// override the listen address and define a single upstream for quick starts and the benchmark.
// Errors name the file, the path inside it and what is wrong. Reads files; never logs.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseYaml, validateDocument, type LineOf } from './validated-document.js';

const securityMethod = z.enum(['none', 'vnc', 'vencrypt-tls-none', 'vencrypt-tls-vnc', 'vencrypt-x509-none', 'vencrypt-x509-vnc']);

const targetSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter or digit'),
  name: z.string().min(1).max(200),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** Order of preference toward the VNC server. */
  security: z.array(securityMethod).min(1).default(['vnc']),
  /** File holding the VNC password (first line). Read at every connection, so it can be rotated live. */
  passwordFile: z.string().min(1).optional(),
  /** CA certificate (PEM) for VeNCrypt X509 subtypes. */
  tlsCaFile: z.string().min(1).optional(),
});

const limitsSchema = z.strictObject({
  maxViewers: z.number().int().min(1).default(200),
  maxClientCutText: z.number().int().min(0).max(16 * 1024 * 1024).default(256 * 1024),
  upstreamConnectTimeoutMs: z.number().int().min(100).default(5000),
  handshakeTimeoutMs: z.number().int().min(100).default(10000),
  /** Server-to-browser bytes a viewer may have unsent before the gateway stops reading its VNC connection. */
  sendHighWaterBytes: z.number().int().min(64 * 1024).default(1024 * 1024),
  /** A viewer that has read nothing for this long while data waits is disconnected. */
  slowViewerTimeoutMs: z.number().int().min(1000).default(60000),
  pingIntervalMs: z.number().int().min(1000).default(30000),
}).prefault({});

export const configSchema = z.strictObject({
  listen: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
  }).prefault({}),
  /** Origins (scheme://host[:port]) whose pages may open WebSockets. Default: the listen address. */
  allowedOrigins: z.array(z.url()).optional(),
  targets: z.array(targetSchema).min(1, 'at least one target (a VNC desktop) is needed'),
  limits: limitsSchema,
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).prefault({}),
});

export type GatewayConfig = z.infer<typeof configSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses and validates a config document; `source` names it in errors. */
export function parseConfig(text: string, source: string): GatewayConfig {
  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text, source);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  return validateConfig(parsed.value, source, parsed.lineOf);
}

export function validateConfig(value: unknown, source: string, lineOf?: LineOf): GatewayConfig {
  const config = validateDocument(configSchema, value, source, 'configuration', lineOf, message => new ConfigError(message));
  const ids = new Set<string>();
  for (const t of config.targets) {
    if (ids.has(t.id)) throw new ConfigError(`${source}: targets: the id "${t.id}" is used twice`);
    ids.add(t.id);
  }
  if (!isLoopback(config.listen.host)) {
    throw new ConfigError(
      `${source}: listen.host ${config.listen.host} is not a loopback address. Until login is in place the gateway `
      + 'serves only this machine (127.0.0.1, ::1 or localhost); put it behind nothing else yet.',
    );
  }
  return config;
}

export function loadConfigFile(path: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the configuration file (${(e as Error).message})`);
  }
  return parseConfig(text, path);
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** The origins a browser page of this gateway has when no allowedOrigins are configured. */
export function defaultOrigins(host: string, port: number): string[] {
  const hosts = host === '::1' ? ['[::1]'] : host === 'localhost' || host === '127.0.0.1' ? ['127.0.0.1', 'localhost'] : [host];
  return hosts.map(h => `http://${h}:${port}`);
}
