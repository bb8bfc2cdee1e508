/**
 * The pin-or-refuse image rule every deploy target follows: an image is deployed as `repository@sha256:…` whenever
 * a digest is known (the `digest` input or the reference's own), and a reference without one is refused unless the
 * user allows a moving tag (`allow-mutable-tag: true`), in which case every host must pull it again.
 */
import { ConfigurationError, InputError } from '../errors.js';
import { isDigest, parseImageReference, type ImageReference } from '../image/reference.js';

export interface PinImageOptions {
  /** The image as written: the `image` input, or the one in the deploy file. */
  written: string;
  /** True when `written` is the `image` input (errors name the input); false when it comes from a file. */
  fromInput: boolean;
  /** For an image from a file: where it is, e.g. `deploy/qa.json: /container/docker/image`. */
  location?: string;
  /** The `digest` input, when given. */
  digest?: string;
  allowMutableTag: boolean;
  /** The deploy target's "always pull" switch, as messages name it (`forcePullImage`); it is set to true. */
  forcePullName: string;
}

export interface PinnedImage {
  /** The image that will run: pinned `name@digest` (the user's spelling of the name kept), or the tag as written. */
  image: string;
  ref: ImageReference;
  /** Whether the image is pinned by a digest. */
  pinned: boolean;
  digest?: string;
  /** What Kiln changed, worth a line in the log. */
  notes: string[];
  warnings: string[];
}

/** `registry/repo:tag@digest` as written → `registry/repo@<digest>` (the user's spelling of the name is kept). */
export function pinnedAsWritten(original: string, digest: string): string {
  const at = original.indexOf('@');
  let name = at >= 0 ? original.slice(0, at) : original;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  return `${name}@${digest}`;
}

/** Apply the rule; throws InputError/ConfigurationError (naming the input or the file) before any request. */
export function pinImage(o: PinImageOptions): PinnedImage {
  if (o.digest !== undefined && !isDigest(o.digest))
    throw new InputError(
      'digest',
      `"${o.digest}" is not a digest; expected sha256: followed by 64 lowercase hex characters.`,
    );
  let ref: ImageReference;
  if (o.fromInput) ref = parseImageReference(o.written, { inputName: 'image' });
  else {
    try {
      ref = parseImageReference(o.written);
    } catch (e) {
      throw new ConfigurationError(`${o.location ?? 'image'}: ${(e as Error).message}`);
    }
  }
  if (o.digest !== undefined && ref.digest !== undefined && ref.digest !== o.digest)
    throw new InputError(
      'digest',
      `"${o.digest}" differs from the digest in the image reference ("${ref.digest}"); give only one of them, or the same.`,
    );
  const digest = o.digest ?? ref.digest;
  if (digest !== undefined) {
    const image = pinnedAsWritten(o.written, digest);
    return {
      image,
      ref,
      pinned: true,
      digest,
      notes: image !== o.written ? [`image pinned by digest: ${image}`] : [],
      warnings: [],
    };
  }
  if (!o.allowMutableTag) {
    const message =
      `'${o.written}' is not pinned by a digest; Kiln deploys images by digest so what runs is never ambiguous. ` +
      `Give the digest input (e.g. the push step's digest output) or an image ending in @sha256:<hex>, ` +
      `or set allow-mutable-tag: true to deploy a moving tag (this forces a pull).`;
    if (o.fromInput) throw new InputError('image', message);
    throw new ConfigurationError(`${o.location ?? 'image'} ${message}`);
  }
  return {
    image: o.written,
    ref,
    pinned: false,
    notes: [],
    warnings: [
      `deploying the mutable tag '${o.written}' (allow-mutable-tag: true): ${o.forcePullName} is set to true so every host pulls it again; what runs can change under the same tag.`,
    ],
  };
}
