// A complete gateway with login for integration and end-to-end tests: the local OpenID Connect
// provider, the demo desktop, a sample user-office file (rewritable by the test), a SQLite store
// in a temp dir and the gateway itself, all on 127.0.0.1. close() stops everything.
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { validateConfig } from '../config.js';
import { startDemoDesktop, type DemoDesktop } from '../demo-desktop/rfb-server.js';
import { demoAccount } from '../demo-idp/accounts.js';
import { startDemoIdentityProvider, type DemoIdentityProvider } from '../demo-idp/identity-provider.js';
import { DEMO_BEAMLINE, DEMO_BEAMTIME, DEMO_INSTRUCTION_VERSION, sampleUserOffice } from '../demo-idp/sample-user-office.js';
import { startGateway, type RunningGateway } from '../main.js';
import { oidcLogin } from './oidc-login.js';

export interface LoginRig {
  /** http://127.0.0.1:PORT (no trailing slash); also the allowed Origin. */
  readonly base: string;
  readonly idp: DemoIdentityProvider;
  readonly desktop: DemoDesktop;
  readonly gateway: RunningGateway;
  readonly userOfficeFile: string;
  /** Replaces the user-office file atomically (as an editor's save does). */
  writeUserOffice(doc: unknown): void;
  /** Logs a demo account in without a browser: its session cookie header and CSRF token. */
  login(user: string): Promise<{ cookie: string; csrf: string }>;
  /** The person acknowledges the demo beamline's current instruction for the demo beamtime (rejects unless 200). */
  acknowledgeInstruction(session: { cookie: string; csrf: string }): Promise<void>;
  close(): Promise<void>;
}

export interface LoginRigOptions {
  readonly clock?: () => Date;
  readonly reevaluateSeconds?: number;
  readonly accessTokenTtlSeconds?: number;
  /** The demo beamline's input policy document (docs/input-policy.md); absent: no input policy. */
  readonly inputPolicy?: Record<string, unknown>;
  /** Serve this VNC server (e.g. a real Xvnc kiosk) as bl-demo instead of the demo desktop. */
  readonly vnc?: { readonly host: string; readonly port: number; readonly password: string };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => {
        resolve(port);
      });
    });
    server.on('error', reject);
  });
}

export async function startLoginRig(options: LoginRigOptions = {}): Promise<LoginRig> {
  const dir = mkdtempSync(join(tmpdir(), 'beamgate-login-'));
  const userOfficeFile = join(dir, 'user-office.yaml');
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    writeFileSync(join(dir, 'vnc-password'), `${options.vnc?.password ?? 'demo-pw'}\n`);
    writeFileSync(join(dir, 'client-secret'), 'test-client-secret-0123456789\n');
    writeFileSync(userOfficeFile, stringify(sampleUserOffice(new Date())));
    const desktop = await startDemoDesktop({ password: 'demo-pw' });
    closers.push(() => desktop.close());
    // The redirect URI names the gateway's port before it listens: take a free one.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const idp = await startDemoIdentityProvider({
      host: '127.0.0.1', port: 0, accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 120,
      clients: [{ clientId: 'beamgate', clientSecret: 'test-client-secret-0123456789', redirectUris: [`${base}/auth/callback`], postLogoutRedirectUris: [`${base}/`] }],
    });
    closers.push(() => idp.close());
    const policyDir = join(dir, 'input-policies');
    if (options.inputPolicy !== undefined) {
      mkdirSync(policyDir);
      writeFileSync(join(policyDir, `${DEMO_BEAMLINE}.yaml`), stringify(options.inputPolicy));
    }
    const config = validateConfig({
      listen: { host: '127.0.0.1', port },
      publicUrl: base,
      dataDir: join(dir, 'data'),
      oidc: { issuer: idp.issuer, clientId: 'beamgate', clientSecretFile: join(dir, 'client-secret'), allowInsecureHttpIssuer: true },
      userOffice: { file: userOfficeFile },
      policy: { reevaluateSeconds: options.reevaluateSeconds ?? 1 },
      // Tests log in dozens of times a second from one address; the rate limits have their own tests.
      limits: { loginRequestsPerSecond: 1000, apiRequestsPerSecond: 1000 },
      ...(options.inputPolicy === undefined ? {} : { inputPolicies: { directory: policyDir } }),
      targets: [{
        id: 'bl-demo', name: 'BL-DEMO', beamline: DEMO_BEAMLINE, host: options.vnc?.host ?? '127.0.0.1', port: options.vnc?.port ?? desktop.port,
        security: ['vnc'], passwordFile: join(dir, 'vnc-password'),
      }],
    }, 'test');
    const gateway = await startGateway(config, pino({ level: 'silent' }), options.clock);
    closers.push(() => gateway.close());
    return {
      base, idp, desktop, gateway, userOfficeFile, close,
      writeUserOffice: (doc) => {
        writeFileSync(`${userOfficeFile}.new`, stringify(doc));
        renameSync(`${userOfficeFile}.new`, userOfficeFile);
      },
      login: async (user) => {
        const account = demoAccount(user);
        const result = await oidcLogin({ loginUrl: `${base}/auth/login?returnTo=/`, username: account.login, password: account.password });
        const value = result.cookies['beamgate-session'];
        if (result.status !== 200 || value === undefined) throw new Error(`login of ${user} failed: HTTP ${result.status ?? '?'}`);
        const cookie = `beamgate-session=${value}`;
        const me = await (await fetch(`${base}/api/me`, { headers: { cookie } })).json() as { csrfToken: string };
        return { cookie, csrf: me.csrfToken };
      },
      acknowledgeInstruction: async ({ cookie, csrf }) => {
        const res = await fetch(`${base}/api/beamlines/${DEMO_BEAMLINE}/beamtimes/${DEMO_BEAMTIME}/acknowledge`, {
          method: 'POST', headers: { cookie, origin: base, 'x-csrf-token': csrf, 'content-type': 'application/json' },
          body: JSON.stringify({ version: DEMO_INSTRUCTION_VERSION }),
        });
        if (res.status !== 200) throw new Error(`acknowledging the instruction failed: HTTP ${res.status} ${await res.text()}`);
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
