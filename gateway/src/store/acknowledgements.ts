// Acknowledgements of beamlines' remote-operation instructions on SQL. Acknowledging the same
// version for the same beamtime twice keeps the first time.
import type { Kysely } from 'kysely';
import { fromMs, toMs, type StoreSchema } from './schema.js';
import type { AcknowledgementStore, InstructionAck } from './types.js';

export class SqlAcknowledgementStore implements AcknowledgementStore {
  readonly #db: Kysely<StoreSchema>;

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  async add(ack: InstructionAck): Promise<void> {
    await this.#db.insertInto('instruction_acks').values({
      user_id: ack.userId, beamline: ack.beamline, beamtime: ack.beamtime, version: ack.version, at_ms: toMs(ack.at),
    }).onConflict(c => c.columns(['user_id', 'beamline', 'beamtime', 'version']).doNothing()).execute();
  }

  async list(): Promise<InstructionAck[]> {
    const rows = await this.#db.selectFrom('instruction_acks').selectAll()
      .orderBy('at_ms').orderBy('user_id').orderBy('beamline').orderBy('beamtime').orderBy('version').execute();
    return rows.map(r => ({ userId: r.user_id, beamline: r.beamline, beamtime: r.beamtime, version: r.version, at: fromMs(r.at_ms) }));
  }
}
