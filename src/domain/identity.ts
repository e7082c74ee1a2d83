// Who is this builder? The first source that answers wins; no answer is an error, never a
// silent default: a builder that writes as another corrupts the fleet's picture.
import { usageError } from '../errors.js';
import { checkBuilderId } from './ids.js';

export type IdentitySource = '--as' | 'BUILD_SERVER_ID' | '/etc/build_server_id' | '.build_server_id' | 'hostname';

export interface IdentityInputs {
  flag?: string | undefined;
  env?: string | undefined;
  etcFile?: string | undefined;
  storeFile?: string | undefined;
  hostname: string;
  /** registered builders with their hosts */
  builders: ReadonlyArray<{ id: string; host?: string | null | undefined }>;
}

export interface Identity {
  id: string;
  source: IdentitySource;
}

export const resolveIdentity = (inputs: IdentityInputs): Identity => {
  const candidates: Array<[IdentitySource, string | undefined]> = [
    ['--as', inputs.flag],
    ['BUILD_SERVER_ID', inputs.env],
    ['/etc/build_server_id', inputs.etcFile],
    ['.build_server_id', inputs.storeFile],
  ];
  for (const [source, raw] of candidates) {
    const value = raw?.trim();
    if (value) return { id: checkBuilderId(value, `builder id from ${source}`), source };
  }
  const host = inputs.hostname.toLowerCase();
  const short = host.split('.')[0];
  const matches = inputs.builders.filter((b) => {
    const h = b.host?.toLowerCase();
    return h !== undefined && h !== null && h !== '' && (h === host || h === short || h.split('.')[0] === short);
  });
  if (matches.length === 1 && matches[0]) return { id: matches[0].id, source: 'hostname' };
  throw usageError(
    matches.length > 1
      ? `cannot tell which builder this is: host "${inputs.hostname}" matches ${matches.map((b) => b.id).join(', ')}`
      : `cannot tell which builder this is (host "${inputs.hostname}" is not in coordination/builders.json)`,
    {
      code: 'unknown_identity',
      hint: 'pass --as ID, set BUILD_SERVER_ID, or write the id to /etc/build_server_id (or .build_server_id in the store)',
    },
  );
};

/**
 * What to say of a `.build_server_id` committed to main (someone pushed it): `status`,
 * `validate` and `check` say it alike. buildctl never checks it out (store/view.ts), but an
 * older script or a person reading the store's files might act as the id it names.
 */
export const IDENTITY_FILE_ON_MAIN =
  '.build_server_id is committed to main: someone pushed it; buildctl never checks it out, but a script reading it would act as the id it names (remove it: git rm --cached .build_server_id, commit, push)';
