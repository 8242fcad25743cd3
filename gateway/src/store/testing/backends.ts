// Test support: runs one test body against SQLite (a temp directory) and PostgreSQL (a fresh
// random schema per test file, with a sub-schema per database a test asks for; all dropped in
// after()). PostgreSQL tests FAIL when the server is unreachable: CI has one, and a skipped
// test would hide a broken PostgreSQL path.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../store.js';
import type { Store, StoreConfig } from '../types.js';
import { describePostgresUrl } from '../database.js';

export const POSTGRES_TEST_URL = process.env['BEAMGATE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export type BackendKind = StoreConfig['kind'];

export interface OpenedTestStore {
  readonly store: Store;
  readonly config: StoreConfig;
}

/** One database engine for the tests of one file. */
export class TestBackend {
  readonly kind: BackendKind;
  readonly #opened: Store[] = [];
  readonly #schemas: string[] = [];
  #dir: string | undefined;
  #baseSchema: string | undefined;
  #counter = 0;

  constructor(kind: BackendKind) {
    this.kind = kind;
  }

  async setup(): Promise<void> {
    if (this.kind === 'sqlite') {
      this.#dir = mkdtempSync(join(tmpdir(), 'beamgate-store-'));
      return;
    }
    this.#baseSchema = `store_test_${randomBytes(6).toString('hex')}`;
    await assertPostgresReachable();
  }

  /** A config naming a database nobody has used yet. */
  freshConfig(): StoreConfig {
    this.#counter += 1;
    if (this.kind === 'sqlite') {
      if (this.#dir === undefined) throw new Error('TestBackend.setup() has not run');
      return { kind: 'sqlite', file: join(this.#dir, `store-${this.#counter}.db`) };
    }
    if (this.#baseSchema === undefined) throw new Error('TestBackend.setup() has not run');
    const schema = `${this.#baseSchema}_${this.#counter}`;
    this.#schemas.push(schema);
    return { kind: 'postgres', url: POSTGRES_TEST_URL, schema };
  }

  /** Opens a store (on a fresh database unless given a config); closed in teardown(). */
  async open(config: StoreConfig = this.freshConfig(), tokenKey: Buffer = randomBytes(32)): Promise<OpenedTestStore> {
    const store = await openStore(config, { tokenKey });
    this.#opened.push(store);
    return { store, config };
  }

  /** Runs SQL behind the store's back (to tamper, or to look at raw rows). */
  async raw(config: StoreConfig, statement: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    if (config.kind === 'sqlite') {
      const db = new Database(config.file);
      try {
        const prepared = db.prepare(statement);
        return prepared.reader ? prepared.all(...params) as Record<string, unknown>[] : (prepared.run(...params), []);
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: config.url });
    await client.connect();
    try {
      await client.query(`set search_path to "${config.schema ?? 'public'}"`);
      const result = await client.query(statement, [...params]);
      return result.rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  async teardown(): Promise<void> {
    await Promise.allSettled(this.#opened.map(s => s.close()));
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    if (this.#schemas.length > 0) {
      const client = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await client.connect();
      try {
        for (const schema of this.#schemas) await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    }
  }
}

/** Throws a message that says what to do when the test PostgreSQL is not there. */
export async function assertPostgresReachable(url: string = POSTGRES_TEST_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (e) {
    throw new Error(
      `PostgreSQL is not reachable at ${describePostgresUrl(url)} (${(e as Error).message}). The PostgreSQL store tests need it and fail `
      + 'rather than skip: start PostgreSQL (CI has it) or set BEAMGATE_TEST_POSTGRES_URL to a database the tests may create schemas in.',
      { cause: e },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Declares `body` once per database engine, each in its own describe() with setup and teardown.
 * A setup failure (PostgreSQL unreachable) fails every test of that engine with its message,
 * rather than only cancelling them.
 */
export function describeEachBackend(title: string, body: (backend: TestBackend) => void): void {
  for (const kind of ['sqlite', 'postgres'] as const) {
    void describe(`${title} [${kind}]`, () => {
      const backend = new TestBackend(kind);
      let setupFailure: Error | undefined;
      before(async () => {
        try {
          await backend.setup();
        } catch (e) {
          setupFailure = e instanceof Error ? e : new Error(String(e));
        }
      });
      beforeEach(() => {
        if (setupFailure !== undefined) throw setupFailure;
      });
      after(() => backend.teardown());
      body(backend);
    });
  }
}
