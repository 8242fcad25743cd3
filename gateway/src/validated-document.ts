// Parses a YAML or JSON document and validates it against a zod schema, so that every mistake
// names the file, the path inside the document and, where the YAML parser knows it, the line.
// Used for the gateway configuration and the user-office data file.
import { parseDocument } from 'yaml';
import type { z } from 'zod';

export class DocumentError extends Error {
  override readonly name: string = 'DocumentError';
}

export type LineOf = (path: (string | number)[]) => number | undefined;

/** Parses YAML (JSON is YAML) into plain data, with a function that maps a path to its line. */
export function parseYaml(text: string, source: string): { value: unknown; lineOf: LineOf } {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new DocumentError(`${source}: not valid YAML: ${doc.errors.map(e => e.message).join('; ')}`);
  }
  const lineOf: LineOf = (path) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : text.slice(0, offset).split('\n').length;
  };
  return { value: doc.toJS() as unknown, lineOf };
}

/** Validates value; on failure throws one error listing every problem as `path (line N): message`. */
export function validateDocument<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source: string,
  what: string,
  lineOf: LineOf = () => undefined,
  makeError: (message: string) => Error = message => new DocumentError(message),
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    return `  ${describePath(path, lineOf)}: ${issue.message}`;
  });
  throw makeError(`${source}: invalid ${what}:\n${problems.join('\n')}`);
}

/** `a.b.0.c (line 12)`, or `(top level)`. */
export function describePath(path: (string | number)[], lineOf: LineOf = () => undefined): string {
  const line = lineOf(path);
  return `${path.join('.') || '(top level)'}${line === undefined ? '' : ` (line ${line})`}`;
}
