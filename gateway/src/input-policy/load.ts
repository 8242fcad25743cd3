// Turns the text of one beamline input policy file (YAML or JSON) into a validated policy, or into
// one error naming the file, each problem's path and line, and what is wrong. No I/O: the
// directory source reads the files.
import { beamlineInputPolicySchema, type BeamlineInputPolicy } from '../../../policies/src/input-policy.js';
import { DocumentError, describePath, parseYaml, validateDocument } from '../validated-document.js';

export class InputPolicyError extends DocumentError {
  override readonly name: string = 'InputPolicyError';
}

/** A policy file's name is `<beamline id>.yaml` (or .yml, .json); anything else in the directory is ignored. */
export const POLICY_FILE_NAME = /^([A-Za-z0-9][A-Za-z0-9._:@-]{0,127})\.(yaml|yml|json)$/;

/** The beamline a file name is for, or undefined when the name is not a policy file's. */
export function beamlineOfFileName(name: string): string | undefined {
  return POLICY_FILE_NAME.exec(name)?.[1];
}

/**
 * Parses and validates; `source` names the file in errors. When `beamline` is given (the file
 * name's), the document's `beamline` must say the same, so a copied file is not silently applied
 * to the wrong beamline.
 */
export function parseInputPolicy(text: string, source: string, beamline?: string): BeamlineInputPolicy {
  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text, source);
  } catch (e) {
    if (e instanceof DocumentError) throw new InputPolicyError(e.message, { cause: e });
    throw e;
  }
  const policy = validateDocument(beamlineInputPolicySchema, parsed.value, source, 'beamline input policy', parsed.lineOf,
    message => new InputPolicyError(message));
  if (beamline !== undefined && policy.beamline !== beamline) {
    throw new InputPolicyError(`${source}: invalid beamline input policy:\n  ${describePath(['beamline'], parsed.lineOf)}: `
      + `says "${policy.beamline}" but the file is named for beamline "${beamline}"; rename the file or fix the id`);
  }
  return policy;
}
