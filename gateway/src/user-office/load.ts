// Turns the text of a user-office document (YAML or JSON) into validated data, or into one
// error that lists every problem as `path (line N): message`: the schema's and the cross-reference
// checks' together, so one edit fixes them all. No I/O; the sources read files and URLs.
import type { z } from 'zod';
import { checkReferences, userOfficeSchema, type UserOfficeData } from '../../../policies/src/user-office.js';
import { DocumentError, describePath, parseYaml, type LineOf } from '../validated-document.js';
import { referenceProblemsDespiteSchemaErrors } from './partial-references.js';

export class UserOfficeError extends DocumentError {
  override readonly name: string = 'UserOfficeError';
}

/** More problems than this are counted, not listed: one systematic mistake should not flood the audit log. */
export const MAX_LISTED_PROBLEMS = 50;

type Problem = [(string | number)[], string];

/** YAML or JSON text (JSON is YAML); `source` names it in errors (a path or a URL). */
export function parseUserOffice(text: string, source: string): UserOfficeData {
  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text, source);
  } catch (e) {
    if (e instanceof DocumentError) throw new UserOfficeError(e.message, { cause: e });
    throw e;
  }
  return validateUserOffice(parsed.value, source, parsed.lineOf);
}

/**
 * Strict JSON text, as the feed serves it. JSON.parse is much faster than the YAML parser on a
 * large document; the YAML parser runs only when there are problems, to find their lines.
 * `context` goes into the not-JSON message (e.g. the content type, when a login page came back).
 */
export function parseUserOfficeJson(text: string, source: string, context?: string): UserOfficeData {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserOfficeError(`${source}: not valid JSON${context === undefined ? '' : ` (${context})`}: ${(e as Error).message}`);
  }
  let lineOf: LineOf | undefined;
  const lazyLineOf: LineOf = (path) => {
    lineOf ??= linesOrNothing(text, source);
    return lineOf(path);
  };
  return validateUserOffice(value, source, lazyLineOf);
}

/** Validates plain data (already parsed); lineOf maps a path to its line in the text, when known. */
export function validateUserOffice(value: unknown, source: string, lineOf: LineOf = () => undefined): UserOfficeData {
  const result = userOfficeSchema.safeParse(value);
  const problems: Problem[] = result.success
    ? checkReferences(result.data)
    : [
        ...result.error.issues.map((issue): Problem => [issue.path.filter((p): p is string | number => typeof p !== 'symbol'), messageOf(issue)]),
        ...referenceProblemsDespiteSchemaErrors(value),
      ];
  if (result.success && problems.length === 0) return result.data;
  throw new UserOfficeError(`${source}: invalid user-office data:\n${formatProblems(problems, lineOf)}`);
}

/** In document order where lines are known; identical lines once; at most MAX_LISTED_PROBLEMS. */
function formatProblems(problems: Problem[], lineOf: LineOf): string {
  const described = problems.map(([path, message]) => {
    const line = lineNear(path, lineOf);
    return { line: line ?? Number.POSITIVE_INFINITY, text: `  ${describePath(path, () => line)}: ${message}` };
  });
  // Stable; `|| 0` because Infinity - Infinity is NaN (two problems without a line keep their order).
  described.sort((a, b) => a.line - b.line || 0);
  const lines = [...new Set(described.map(d => d.text))];
  const listed = lines.slice(0, MAX_LISTED_PROBLEMS);
  if (lines.length > listed.length) listed.push(`  ... and ${lines.length - listed.length} more problems`);
  return listed.join('\n');
}

function messageOf(issue: z.core.$ZodIssue): string {
  // YAML reads an unquoted 1234 as a number; user offices often number their users.
  const digits = issue.code === 'invalid_type' && issue.expected === 'string' && /received number/.test(issue.message);
  return digits ? `${issue.message} (put ids made of digits in quotes: "1234")` : issue.message;
}

/** A missing field has no line of its own: the entry that lacks it is the place to look. */
function lineNear(path: (string | number)[], lineOf: LineOf): number | undefined {
  for (let end = path.length; end > 0; end--) {
    const line = lineOf(path.slice(0, end));
    if (line !== undefined) return line;
  }
  return undefined;
}

function linesOrNothing(text: string, source: string): LineOf {
  try {
    return parseYaml(text, source).lineOf;
  } catch {
    // Valid JSON the YAML parser refuses (e.g. a key repeated): the paths alone still say where.
    return () => undefined;
  }
}
