/**
 * How push-registry reads its `source` input (local files or a registry image): checked before the first request.
 * Re-exported by action.ts for its tests; run.ts uses it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  errorMessage,
  InputError,
  parseImageReference,
  parseImageSourceSpec,
  type ImageReference,
} from '@kiln/core';

/** Where the image comes from: local files (a spec for openImageSource) or a registry. */
export type PushSource = { kind: 'local'; spec: string } | { kind: 'registry'; ref: ImageReference };

const UNSUPPORTED_TRANSPORT = /^(docker-daemon|containers-storage|dir|ostree|sif|tarball|atomic):/;

/**
 * Reads the `source` input: a transport prefix decides (`oci:`, `oci-archive:`, `docker-archive:`, `docker://`);
 * otherwise a value that looks like a path (starts with `/`, `./`, `../`, ends in `.tar`/`.tgz`/`.tar.gz`) or names
 * something in the workspace is local, and anything else must be an image reference. Relative paths are
 * resolved against the workspace.
 */
export function classifySource(value: string, workspace: string): PushSource {
  const v = value.trim();
  if (v.startsWith('docker://'))
    return {
      kind: 'registry',
      ref: parseImageReference(v.slice('docker://'.length), { inputName: 'source' }),
    };
  const other = UNSUPPORTED_TRANSPORT.exec(v);
  if (other)
    throw new InputError(
      'source',
      `the '${other[1]}:' transport is not supported; export the image first (\`docker save -o app.tar app:1\` → docker-archive:app.tar, or build with \`--output type=oci,dest=…\`) or push it from a registry with docker://.`,
    );
  let parsed;
  try {
    parsed = parseImageSourceSpec(v);
  } catch (e) {
    throw new InputError('source', errorMessage(e));
  }
  if (parsed.transport !== 'path') {
    const path = resolve(workspace, parsed.path);
    return { kind: 'local', spec: `${parsed.transport}:${path}${parsed.ref ? `:${parsed.ref}` : ''}` };
  }
  const beforeColon = v.split(':')[0] ?? '';
  const local =
    /^(\/|\.\.?(\/|$))/.test(v) ||
    /\.(tar|tgz|tar\.gz)(:|$)/.test(v) ||
    existsSync(resolve(workspace, v)) ||
    (beforeColon !== '' && existsSync(resolve(workspace, beforeColon)));
  if (local) return { kind: 'local', spec: resolve(workspace, v) };
  return { kind: 'registry', ref: parseImageReference(v, { inputName: 'source' }) };
}
