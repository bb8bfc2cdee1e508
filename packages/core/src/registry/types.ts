/** Shapes shared by the registry client's pieces (OCI image-spec descriptors and friends). */

/** A repository on a registry; an {@link ImageReference} is one. */
export interface RepositoryRef {
  /** As in image references: 'docker.io', 'ghcr.io', '127.0.0.1:5000'. */
  registry: string;
  /** 'library/ubuntu', 'team/app'. */
  repository: string;
}

/** OCI platform of an index entry. */
export interface ImagePlatform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: ImagePlatform;
  annotations?: Record<string, string>;
  urls?: string[];
  artifactType?: string;
}

/** A progress report for one blob transfer. */
export interface TransferProgress {
  /** Destination, `registry/repository`. */
  target: string;
  digest: string;
  bytesDone: number;
  bytesTotal: number;
}

/** `registry/repository`. */
export function repositoryPath(repo: RepositoryRef): string {
  return `${repo.registry}/${repo.repository}`;
}

/** `registry/repository:tag` or `registry/repository@digest` for a reference string (tag or digest). */
export function referenceString(repo: RepositoryRef, reference: string): string {
  return `${repositoryPath(repo)}${reference.includes(':') ? '@' : ':'}${reference}`;
}
