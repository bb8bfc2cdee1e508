/**
 * The public shapes of image sources: an image a builder wrote locally (an OCI layout, an OCI archive or a
 * docker archive), exposed manifest by manifest and blob by blob for a registry pusher.
 */
import type { Logger } from '../../platform/types.js';

/** A content descriptor, as in an OCI manifest or index. */
export interface BlobDescriptor {
  mediaType: string;
  /** `sha256:<hex>` (sha384 / sha512 are accepted too). */
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  /** Only on the entries of an index. */
  platform?: { architecture: string; os: string; variant?: string };
}

/** Which transport the image came from (skopeo's names). */
export type ImageSourceKind = 'oci-layout' | 'oci-archive' | 'docker-archive';

/** An image read from local files, to be pushed blob by blob. */
export interface ImageSource {
  readonly kind: ImageSourceKind;
  /** For logs: `oci-layout:/path:tag`, `oci-archive:/file.tar:ref`, `docker-archive:/file.tar:app:1`. */
  describe(): string;
  /**
   * The root manifest (or index): exact bytes, digest and mediaType. For a docker archive the manifest is
   * synthesised (Docker v2 schema 2, layers as stored) deterministically: same archive → same digest.
   */
  rootManifest(): Promise<{ bytes: Buffer; digest: string; mediaType: string }>;
  /** Any manifest (the root, or a child of an index) by digest: exact bytes, verified against the digest. */
  manifest(digest: string): Promise<{ bytes: Buffer; mediaType: string }>;
  /**
   * Streams a blob (layer or config) by digest. The stream's sha256 and length are verified as it is read; on a
   * mismatch the stream emits a `BlobDigestMismatchError` (a ConfigurationError) instead of ending. Destroy the stream to stop
   * early (the file is closed).
   */
  openBlob(digest: string): Promise<{ stream: NodeJS.ReadableStream; size: number }>;
  /** Releases resources (temp files of compressed archives). Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link openImageSource}. */
export interface OpenImageSourceOptions {
  logger?: Logger;
  /** Where a gzip-compressed archive is decompressed to (default: the OS temp dir). Removed by `close()`. */
  tmpDir?: string;
}

/** One step of {@link walkImage}: a blob to upload, or a manifest to put once its blobs are there. */
export type ImageWalkItem =
  | {
      type: 'blob';
      role: 'config' | 'layer';
      descriptor: BlobDescriptor;
      /** Digest of the manifest that references it (the first one, when several do). */
      parent: string;
    }
  | {
      type: 'manifest';
      /** `index` for an OCI image index / Docker manifest list, else `manifest`. */
      role: 'manifest' | 'index';
      descriptor: BlobDescriptor;
      /** The exact bytes to PUT. */
      bytes: Buffer;
      /** Digest of the index that lists it; undefined for the starting manifest. */
      parent?: string;
    };
