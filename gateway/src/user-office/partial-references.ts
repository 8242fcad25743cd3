// Cross-reference problems of a document that fails the schema, so that an operator sees a typo
// and a dangling beamtime id in the same error instead of one per edit. Each entry that fails the
// schema is replaced by a stand-in that keeps its place (paths keep their indices) and its id (so
// references to it are not reported as unknown); problems found in stand-ins are dropped, since the
// schema errors already cover those entries. No I/O.
import { checkReferences, userOfficeSchema, type UserOfficeData } from '../../../policies/src/user-office.js';

type Problem = [(string | number)[], string];
type Collections = Omit<UserOfficeData, 'version' | 'trainingKinds'>;

const shape = userOfficeSchema.shape;
const idSchema = shape.users.unwrap().element.shape.id;

/** Any valid id; a stand-in with an invalid one gets '', which no valid reference can name. */
function idOf(raw: unknown): string {
  const id = isRecord(raw) ? raw['id'] : undefined;
  return idSchema.safeParse(id).success ? id as string : '';
}

const EPOCH = new Date(0);

/** Stand-ins that satisfy the types and make no claim beyond their id. */
const standIns: { [K in keyof Collections]: (raw: unknown) => Collections[K][number] } = {
  users: raw => ({ id: idOf(raw), name: '-', onsiteExperience: [] }),
  beamlines: raw => ({
    id: idOf(raw), name: '-', mode: 'remote-control', localContacts: [], requiredTraining: { view: [], control: [] },
    graceMinutes: { before: 0, after: 0 }, requireMfaForControl: false, requireOnsiteExperience: false,
  }),
  beamtimes: raw => ({ id: idOf(raw), beamline: '', start: EPOCH, end: EPOCH, participants: [] }),
  remoteAccessGrants: () => ({ beamtime: '', user: '', status: 'requested' }),
  trainings: () => ({ user: '', kind: '', validUntil: EPOCH }),
  acknowledgements: () => ({ user: '', beamline: '', beamtime: '', version: '', at: EPOCH }),
};

/** Reference problems among the entries that pass the schema; [] when the document is not even an object. */
export function referenceProblemsDespiteSchemaErrors(value: unknown): Problem[] {
  if (!isRecord(value)) return [];
  const standInAt = new Set<string>();
  const collection = <K extends keyof Collections>(key: K): Collections[K] => {
    const raw = value[key];
    if (!Array.isArray(raw)) return [];
    const element = shape[key].unwrap().element;
    return raw.map((item: unknown, i) => {
      const parsed = element.safeParse(item);
      if (parsed.success) return parsed.data;
      standInAt.add(`${key}.${i}`);
      return standIns[key](item);
    }) as Collections[K];
  };
  const kinds = shape.trainingKinds.safeParse(value['trainingKinds']);
  const data: UserOfficeData = {
    version: 1,
    // Kinds that fail the schema still count as declared: a reference to them is not the mistake.
    trainingKinds: kinds.success ? kinds.data : Object.fromEntries(Object.keys(isRecord(value['trainingKinds']) ? value['trainingKinds'] : {}).map(k => [k, k])),
    users: collection('users'),
    beamlines: collection('beamlines'),
    beamtimes: collection('beamtimes'),
    remoteAccessGrants: collection('remoteAccessGrants'),
    trainings: collection('trainings'),
    acknowledgements: collection('acknowledgements'),
  };
  return checkReferences(data).filter(([path]) => !standInAt.has(`${String(path[0])}.${String(path[1])}`));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
