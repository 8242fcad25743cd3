// Gateway configuration: one YAML (or JSON) file, validated with zod; command-line flags may
// override the listen address and define a single upstream for quick starts and the benchmark.
// Errors name the file, the path inside it and what is wrong. Reads files; never logs.
import { join, resolve } from 'node:path';
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
  /** The user-office beamline this desktop belongs to: its rules decide who may watch and drive. */
  beamline: z.string().min(1).optional(),
});

const claimPathSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const oidcSchema = z.strictObject({
  /** e.g. https://login.example.org/realms/facility (Keycloak) */
  issuer: z.url(),
  clientId: z.string().min(1),
  /** File holding the client secret (first line). */
  clientSecretFile: z.string().min(1),
  scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'offline_access']),
  /** Development only: accept an issuer on plain http. */
  allowInsecureHttpIssuer: z.boolean().default(false),
  timeoutMs: z.number().int().min(500).max(60_000).default(10_000),
  /** Where the claims are; defaults fit Keycloak (docs/identity.md). */
  claims: z.strictObject({
    userId: claimPathSchema.default('facility_user_id'),
    name: z.array(claimPathSchema).default(['name', 'preferred_username']),
    /** Default: realm_access.roles, resource_access.<clientId>.roles and groups. */
    roleSources: z.array(claimPathSchema).optional(),
  }).prefault({}),
  /** Provider role or group values (exact) that grant each Beamgate role. */
  roles: z.strictObject({
    admin: z.array(z.string().min(1)).default(['beamgate-admin']),
    safetyOfficer: z.array(z.string().min(1)).default(['beamgate-safety-officer']),
    staff: z.array(z.string().min(1)).default(['beamgate-staff']),
  }).prefault({}),
  /** A login is multi-factor when acr is one of these, or amr contains one of these. */
  mfa: z.strictObject({
    acr: z.array(z.string().min(1)).default(['mfa']),
    amr: z.array(z.string().min(1)).default(['otp', 'mfa', 'hwk', 'swk']),
  }).prefault({}),
});

const userOfficeSchema = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({
    feed: z.strictObject({
      url: z.url(),
      intervalSeconds: z.number().int().min(10).default(300),
      timeoutMs: z.number().int().min(500).default(15_000),
      /** File holding a bearer token for the feed (first line). */
      tokenFile: z.string().min(1).optional(),
      /** Last good document, used when the feed is down at start (default: <dataDir>/user-office-cache.json). */
      cacheFile: z.string().min(1).optional(),
    }),
  }),
]);

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
  /** Login and callback requests per second per remote address (bursts of three times that). */
  loginRequestsPerSecond: z.number().min(0.1).max(1000).default(2),
  /** API requests per second per remote address (bursts of three times that). */
  apiRequestsPerSecond: z.number().min(1).max(10_000).default(20),
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
  /** The URL people open, e.g. https://beamgate.example.org (Origin checks and login redirects). Default: the listen address. */
  publicUrl: z.url().optional(),
  /** Embedded store (SQLite), token key and caches live here. */
  dataDir: z.string().min(1).default('data'),
  store: z.strictObject({
    /** Use PostgreSQL instead of the embedded SQLite file, e.g. postgres://beamgate@db/beamgate (several replicas). */
    postgresUrl: z.string().min(1).optional(),
    /** Password for postgresUrl, read from a file. */
    postgresPasswordFile: z.string().min(1).optional(),
  }).prefault({}),
  oidc: oidcSchema.optional(),
  /**
   * No login at all: every browser on this machine may watch and drive every desktop. Only for
   * benchmarks and quick local trials; the gateway then serves loopback only.
   */
  insecureNoLogin: z.boolean().default(false),
  session: z.strictObject({
    maxAgeHours: z.number().min(0.1).max(24 * 7).default(12),
    /** 32-byte key that encrypts tokens at rest (created with mode 0600 if missing). Default <dataDir>/token.key */
    tokenKeyFile: z.string().min(1).optional(),
  }).prefault({}),
  userOffice: userOfficeSchema.optional(),
  /** Per-beamline input policies: a directory of <beamline-id>.yaml files (docs/input-policy.md), hot-reloaded. */
  inputPolicies: z.strictObject({ directory: z.string().min(1) }).optional(),
  metrics: z.strictObject({
    /** Addresses that may read GET /metrics (Prometheus text format). */
    allowedAddresses: z.array(z.string().min(1)).default(['127.0.0.1', '::1']),
  }).prefault({}),
  /** Session recordings (docs/recordings.md). A beamline's policy file may switch them off or set its own retention. */
  recordings: z.strictObject({
    enabled: z.boolean().default(true),
    /** Where recordings go (a shared file system is fine). Default <dataDir>/recordings. */
    directory: z.string().min(1).optional(),
    retentionDays: z.number().int().min(1).max(36_500).default(90),
    /** A full-screen key frame this often, so playback can start anywhere. */
    keyFrameIntervalSeconds: z.number().min(2).max(600).default(30),
    /** Screen updates recorded per second at most (changes in between are merged). */
    maxUpdatesPerSecond: z.number().min(1).max(60).default(10),
    /** A desktop's session (and its recording) ends this long after its last viewer left. */
    sessionCloseGraceSeconds: z.number().min(0).max(3600).default(15),
    /** How often expired recordings are deleted. */
    pruneIntervalMinutes: z.number().min(1).max(24 * 60).default(60),
  }).prefault({}),
  control: z.strictObject({
    /** A holder who sends no input this long loses control (0: never). */
    idleTimeoutMinutes: z.number().min(0).max(24 * 60).default(30),
    /** A holder whose connection drops keeps control this long for a reconnect. */
    disconnectGraceSeconds: z.number().min(0).max(3600).default(60),
    /** A hand-over offer not accepted within this is withdrawn. */
    handOverTimeoutSeconds: z.number().min(5).max(3600).default(60),
    maxQueue: z.number().int().min(1).max(1000).default(50),
    /** Control messages a browser may send per second (and twice that in a burst). */
    messagesPerSecond: z.number().min(1).max(1000).default(10),
  }).prefault({}),
  policy: z.strictObject({
    /** How often every connected viewer's rights are decided again (and at every user-office change). */
    reevaluateSeconds: z.number().min(1).max(3600).default(5),
  }).prefault({}),
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
  if (config.oidc === undefined && !config.insecureNoLogin) {
    throw new ConfigError(`${source}: oidc: required (the identity provider people log in with); only a loopback trial may set insecureNoLogin: true instead`);
  }
  if (config.oidc !== undefined && config.insecureNoLogin) {
    throw new ConfigError(`${source}: insecureNoLogin: true and oidc exclude each other; remove insecureNoLogin`);
  }
  if (config.insecureNoLogin && !isLoopback(config.listen.host)) {
    throw new ConfigError(
      `${source}: listen.host ${config.listen.host} is not a loopback address, and insecureNoLogin is set: without login the `
      + 'gateway serves only this machine (127.0.0.1, ::1 or localhost). Configure oidc to serve others.',
    );
  }
  if (config.oidc !== undefined) {
    const issuer = new URL(config.oidc.issuer);
    if (issuer.protocol !== 'https:' && !config.oidc.allowInsecureHttpIssuer) {
      throw new ConfigError(`${source}: oidc.issuer ${config.oidc.issuer} is not https; set oidc.allowInsecureHttpIssuer: true only for a local development provider`);
    }
    if (config.userOffice === undefined) {
      throw new ConfigError(`${source}: userOffice: required with oidc (beamtimes, trainings and grants decide who may see a desktop)`);
    }
    config.targets.forEach((t, i) => {
      if (t.beamline === undefined) throw new ConfigError(`${source}: targets.${i}.beamline: required with oidc (its rules decide who may see "${t.id}")`);
    });
  }
  if (config.publicUrl !== undefined) {
    const url = new URL(config.publicUrl);
    if (url.protocol !== 'https:' && !isLoopback(url.hostname.replace(/^\[|\]$/g, ''))) {
      throw new ConfigError(`${source}: publicUrl ${config.publicUrl} must be https (session cookies are Secure); plain http is for loopback only`);
    }
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      throw new ConfigError(`${source}: publicUrl must be an origin without path, e.g. https://beamgate.example.org`);
    }
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

/** Where recordings go: recordings.directory, or <dataDir>/recordings (absolute). */
export function recordingsDirectory(config: GatewayConfig): string {
  return resolve(config.recordings.directory ?? join(config.dataDir, 'recordings'));
}
