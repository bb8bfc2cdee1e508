export const id = 738;
export const ids = [738];
export const modules = {

/***/ 8738:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  action: () => (/* binding */ action),
  classifySource: () => (/* binding */ classifySource),
  spec: () => (/* binding */ action_spec)
});

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./packages/core/src/registry/action-support.ts
var action_support = __webpack_require__(2737);
// EXTERNAL MODULE: ./packages/core/src/inputs/spec.ts
var spec = __webpack_require__(8592);
// EXTERNAL MODULE: ./packages/core/src/image/reference.ts
var reference = __webpack_require__(6314);
// EXTERNAL MODULE: ./packages/core/src/errors.ts
var errors = __webpack_require__(7638);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(6466);
// EXTERNAL MODULE: external "node:zlib"
var external_node_zlib_ = __webpack_require__(8522);
// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
;// CONCATENATED MODULE: ./packages/core/src/image/source/digest.ts
/**
 * Content digests for image sources: validation of `algorithm:hex` strings, hashing of streams, and a
 * pass-through stream that checks size and digest as a blob is read and fails the stream when they differ.
 */



/** Digest algorithms whose content can be verified here, with the length of their hex encoding. */
const ALGORITHMS = { sha256: 64, sha384: 96, sha512: 128 };
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
/**
 * Parses and validates a digest that is about to be used as a path (`blobs/<alg>/<hex>`) or verified: only
 * sha256 / sha384 / sha512 with lowercase hex of the right length. `context` says where it came from.
 */
function parseDigest(digest, context) {
    const m = typeof digest === 'string' ? DIGEST_RE.exec(digest) : null;
    if (!m)
        throw new errors/* ConfigurationError */.j1(`${context}: invalid digest ${JSON.stringify(digest)}`);
    const algorithm = m[1];
    const hex = m[2];
    const length = ALGORITHMS[algorithm];
    if (length === undefined) {
        throw new errors/* ConfigurationError */.j1(`${context}: unsupported digest algorithm '${algorithm}' in '${digest}' (supported: ${Object.keys(ALGORITHMS).join(', ')})`);
    }
    if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
        throw new errors/* ConfigurationError */.j1(`${context}: invalid ${algorithm} digest '${digest}'`);
    }
    return { algorithm, hex };
}
/** `sha256:<hex>` of a buffer (or the given algorithm). */
function digestOf(data, algorithm = 'sha256') {
    return `${algorithm}:${(0,external_node_crypto_.createHash)(algorithm).update(data).digest('hex')}`;
}
/** Hashes a stream to its end: its digest and byte count. */
async function digestStream(stream, algorithm = 'sha256') {
    const hash = (0,external_node_crypto_.createHash)(algorithm);
    let size = 0;
    let head = Buffer.alloc(0);
    for await (const chunk of stream) {
        if (head.length < 8)
            head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
        hash.update(chunk);
        size += chunk.length;
    }
    return { digest: `${algorithm}:${hash.digest('hex')}`, size, head };
}
/**
 * A blob whose content does not match its digest or size: the source is corrupt (or was changed while being
 * read). `expected`/`actual` are digests; sizes are given when they differ.
 */
class BlobDigestMismatchError extends errors/* ConfigurationError */.j1 {
    expected;
    actual;
    where;
    expectedSize;
    actualSize;
    name = 'BlobDigestMismatchError';
    constructor(expected, actual, where, expectedSize, actualSize) {
        super(expectedSize !== undefined && actualSize !== undefined && expectedSize !== actualSize
            ? `digest mismatch: blob ${expected} in ${where} is corrupt: expected ${expectedSize} bytes, read ${actualSize}`
            : `digest mismatch: blob ${expected} in ${where} is corrupt: its content hashes to ${actual}`);
        this.expected = expected;
        this.actual = actual;
        this.where = where;
        this.expectedSize = expectedSize;
        this.actualSize = actualSize;
    }
}
/**
 * A pass-through stream that hashes what goes through it and, at the end, fails with a
 * {@link BlobDigestMismatchError} unless exactly `size` bytes with digest `digest` went through. It fails as soon
 * as more than `size` bytes arrive, so a wrong blob is never read past its expected length.
 */
class VerifyingStream extends external_node_stream_.Transform {
    digest;
    size;
    where;
    hash;
    algorithm;
    seen = 0;
    constructor(digest, size, where) {
        super({ highWaterMark: 256 * 1024 });
        this.digest = digest;
        this.size = size;
        this.where = where;
        this.algorithm = parseDigest(digest, where).algorithm;
        this.hash = (0,external_node_crypto_.createHash)(this.algorithm);
    }
    _transform(chunk, _encoding, callback) {
        this.seen += chunk.length;
        if (this.seen > this.size) {
            callback(new BlobDigestMismatchError(this.digest, 'unknown (too long)', this.where, this.size, this.seen));
            return;
        }
        this.hash.update(chunk);
        callback(null, chunk);
    }
    _flush(callback) {
        const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
        if (this.seen !== this.size || actual !== this.digest) {
            callback(new BlobDigestMismatchError(this.digest, actual, this.where, this.size, this.seen));
            return;
        }
        callback();
    }
}
/**
 * Pipes `source` through a {@link VerifyingStream}. Errors of the source reach the returned stream; destroying
 * the returned stream (a consumer giving up) destroys the source, so its file descriptor is closed.
 */
function verified(source, digest, size, where) {
    const verifier = new VerifyingStream(digest, size, where);
    source.on('error', (err) => verifier.destroy(err));
    verifier.on('close', () => source.destroy());
    source.pipe(verifier);
    return verifier;
}

;// CONCATENATED MODULE: ./packages/core/src/image/source/media-types.ts
/** Media types image sources read and write (internal: not exported from the package). */
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** True for an OCI image index or a Docker manifest list. */
const isIndexMediaType = (m) => m === OCI_INDEX || m === DOCKER_MANIFEST_LIST;
/** True for an OCI image manifest or a Docker v2 schema 2 manifest. */
const isImageManifestMediaType = (m) => m === OCI_MANIFEST || m === DOCKER_MANIFEST;
/** Docker schema 1 manifests: signed, not content-addressable the same way; not supported. */
const isSchema1MediaType = (m) => m === 'application/vnd.docker.distribution.manifest.v1+json' ||
    m === 'application/vnd.docker.distribution.manifest.v1+prettyjws';
/** Largest manifest accepted (what registries accept: distribution's limit is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest index.json / manifest.json / config read whole. */
const MAX_METADATA_BYTES = 32 * 1024 * 1024;

;// CONCATENATED MODULE: ./packages/core/src/image/source/manifest.ts
/**
 * Reading manifests and indexes: descriptor validation, and what a manifest document references (children of an
 * index; config and layers of an image manifest), for OCI and Docker v2 schema 2 media types.
 */



const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Parses JSON, with a clear error naming what it was. */
function parseJson(bytes, what) {
    try {
        return JSON.parse(bytes.toString('utf8'));
    }
    catch (err) {
        throw new errors/* ConfigurationError */.j1(`${what} is not valid JSON: ${err.message}`);
    }
}
/**
 * Validates one descriptor: `mediaType` (string), `digest` (sha256/384/512), `size` (a non-negative integer),
 * optional string `annotations` and `platform` (kept as given: architecture, os, variant).
 */
function parseDescriptor(value, context) {
    if (!isObject(value))
        throw new errors/* ConfigurationError */.j1(`${context}: a descriptor must be a JSON object`);
    const { mediaType, digest, size, annotations, platform } = value;
    if (typeof mediaType !== 'string' || mediaType === '') {
        throw new errors/* ConfigurationError */.j1(`${context}: descriptor has no mediaType`);
    }
    parseDigest(digest, context);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw new errors/* ConfigurationError */.j1(`${context}: descriptor of ${String(digest)} has an invalid size ${JSON.stringify(size)}`);
    }
    const out = { mediaType, digest: digest, size };
    if (annotations !== undefined) {
        if (!isObject(annotations) || Object.values(annotations).some((v) => typeof v !== 'string')) {
            throw new errors/* ConfigurationError */.j1(`${context}: annotations of ${digest} must map strings to strings`);
        }
        out.annotations = annotations;
    }
    if (platform !== undefined) {
        if (!isObject(platform) || typeof platform.architecture !== 'string' || typeof platform.os !== 'string') {
            throw new errors/* ConfigurationError */.j1(`${context}: platform of ${digest} needs string 'architecture' and 'os'`);
        }
        out.platform = { architecture: platform.architecture, os: platform.os };
        if (typeof platform.variant === 'string')
            out.platform.variant = platform.variant;
    }
    return out;
}
/**
 * Parses a manifest or index. The media type is the document's own `mediaType` field, else `hint` (the media type
 * of the descriptor that pointed here), else inferred from the shape (`manifests` → OCI index, `config` → OCI
 * manifest). A document whose `mediaType` differs from the descriptor's is refused (registries refuse it too).
 */
function parseManifest(bytes, hint, what) {
    const doc = parseJson(bytes, what);
    if (!isObject(doc))
        throw new errors/* ConfigurationError */.j1(`${what} is not a JSON object`);
    if (doc.schemaVersion === 1 || (hint !== undefined && isSchema1MediaType(hint))) {
        throw new errors/* ConfigurationError */.j1(`${what} is a Docker schema 1 manifest, which is not supported`);
    }
    if (doc.schemaVersion !== 2) {
        throw new errors/* ConfigurationError */.j1(`${what} has schemaVersion ${JSON.stringify(doc.schemaVersion)}; expected 2`);
    }
    const own = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
    if (own !== undefined && hint !== undefined && own !== hint) {
        throw new errors/* ConfigurationError */.j1(`${what} says its mediaType is '${own}' but its descriptor says '${hint}'`);
    }
    const mediaType = own ?? hint ?? (Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST);
    if (isIndexMediaType(mediaType)) {
        if (!Array.isArray(doc.manifests))
            throw new errors/* ConfigurationError */.j1(`${what} is an index without 'manifests'`);
        return {
            kind: 'index',
            mediaType,
            manifests: doc.manifests.map((d, i) => parseDescriptor(d, `${what}, manifests[${i}]`)),
        };
    }
    if (isImageManifestMediaType(mediaType)) {
        if (!Array.isArray(doc.layers))
            throw new errors/* ConfigurationError */.j1(`${what} is a manifest without 'layers'`);
        return {
            kind: 'manifest',
            mediaType,
            config: parseDescriptor(doc.config, `${what}, config`),
            layers: doc.layers.map((d, i) => parseDescriptor(d, `${what}, layers[${i}]`)),
        };
    }
    throw new errors/* ConfigurationError */.j1(`${what} has unsupported media type '${mediaType}' (expected ${[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ')})`);
}

;// CONCATENATED MODULE: ./packages/core/src/image/source/oci.ts
/**
 * OCI image layouts (opencontainers/image-spec `image-layout.md`): an `oci-layout` file
 * (`{"imageLayoutVersion": "1.0.0"}`), an `index.json` image index whose entries name images with the
 * `org.opencontainers.image.ref.name` annotation, and blobs under `blobs/<alg>/<hex>`. The same code reads a
 * layout from a directory (`oci:`), from a tar archive (`oci-archive:`) and from a docker 25+ `docker save`
 * archive, which is an OCI layout with a `manifest.json` added.
 */




/** The annotation that names an image in `index.json` (skopeo's `oci:<dir>:<name>`). */
const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** `blobs/<alg>/<hex>` for a validated digest. */
function blobPath(digest, context) {
    const { algorithm, hex } = parseDigest(digest, context);
    return `blobs/${algorithm}/${hex}`;
}
/** Reads and validates `oci-layout` and `index.json`. `where` names the layout in messages. */
async function readOciLayout(store, where) {
    const marker = await store.read('oci-layout', 64 * 1024);
    if (marker === undefined) {
        throw new errors/* ConfigurationError */.j1(`${where} is not an OCI image layout: it has no 'oci-layout' file`);
    }
    const layout = parseJson(marker, `'oci-layout' in ${where}`);
    const version = typeof layout === 'object' && layout !== null ? layout.imageLayoutVersion : undefined;
    if (version !== '1.0.0') {
        throw new errors/* ConfigurationError */.j1(`${where} is not a supported OCI image layout: 'oci-layout' has imageLayoutVersion ${JSON.stringify(version)}; expected "1.0.0"`);
    }
    const indexBytes = await store.read('index.json', MAX_METADATA_BYTES);
    if (indexBytes === undefined) {
        throw new errors/* ConfigurationError */.j1(`${where} is not a complete OCI image layout: it has no 'index.json'`);
    }
    const index = parseJson(indexBytes, `'index.json' in ${where}`);
    if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) {
        throw new errors/* ConfigurationError */.j1(`'index.json' in ${where} is not an image index (no 'manifests' array)`);
    }
    return {
        manifests: index.manifests.map((d, i) => parseDescriptor(d, `'index.json' in ${where}, manifests[${i}]`)),
    };
}
/** How an entry of index.json is named in messages: its ref name, else its digest. */
function entryName(d) {
    return d.annotations?.[REF_NAME_ANNOTATION] ?? `@${d.digest}`;
}
/** A quoted, comma-separated list for messages, shortened past 20 items. */
function listNames(names) {
    const shown = names.slice(0, 20).map((n) => `'${n}'`);
    return names.length > 20
        ? `${shown.join(', ')} and ${names.length - 20} more`
        : shown.join(', ') || '(none)';
}
/**
 * Picks the image `ref` names in a layout: the entry whose `org.opencontainers.image.ref.name` is `ref`, the
 * entry with digest `ref` when it is `@sha256:…`, or the only entry when `ref` is undefined. Errors list what is
 * available.
 */
function selectByRefName(layout, ref, where) {
    const entries = layout.manifests;
    const available = () => listNames(entries.map(entryName));
    if (entries.length === 0)
        throw new errors/* ConfigurationError */.j1(`${where} holds no image: its index.json lists no manifests`);
    if (ref === undefined) {
        if (entries.length === 1)
            return entries[0];
        throw new errors/* ConfigurationError */.j1(`${where} holds ${entries.length} images; name the one to use (…:<name>); available: ${available()}`);
    }
    const byDigest = ref.startsWith('@') ? ref.slice(1) : undefined;
    const matches = entries.filter((d) => byDigest !== undefined ? d.digest === byDigest : d.annotations?.[REF_NAME_ANNOTATION] === ref);
    if (matches.length === 0) {
        throw new errors/* ConfigurationError */.j1(`no image named '${ref}' in ${where}; available: ${available()}`);
    }
    const distinct = new Set(matches.map((d) => d.digest));
    if (distinct.size > 1) {
        throw new errors/* ConfigurationError */.j1(`'${ref}' names ${distinct.size} different images in ${where}`);
    }
    return matches[0];
}
/** An image in an OCI layout (directory or archive), rooted at one descriptor of its index.json. */
class OciImageSource {
    kind;
    store;
    root;
    label;
    logger;
    onClose;
    /** Media types and sizes learnt from the descriptors read so far, by digest. */
    known = new Map();
    closed = false;
    constructor(kind, store, root, label, logger, onClose) {
        this.kind = kind;
        this.store = store;
        this.root = root;
        this.label = label;
        this.logger = logger;
        this.onClose = onClose;
        if (!isIndexMediaType(root.mediaType) && !isImageManifestMediaType(root.mediaType)) {
            throw new errors/* ConfigurationError */.j1(`${label}: the selected entry ${root.digest} has media type '${root.mediaType}', not an image manifest or index`);
        }
        this.known.set(root.digest, { mediaType: root.mediaType, size: root.size });
    }
    describe() {
        return this.label;
    }
    checkOpen() {
        if (this.closed)
            throw new Error(`internal error: ${this.label} was used after close()`);
    }
    async rootManifest() {
        const { bytes, mediaType } = await this.manifest(this.root.digest);
        return { bytes, digest: this.root.digest, mediaType };
    }
    async manifest(digest) {
        this.checkOpen();
        const path = blobPath(digest, this.label);
        const bytes = await this.store.read(path, MAX_MANIFEST_BYTES);
        if (bytes === undefined)
            throw new errors/* ConfigurationError */.j1(`manifest ${digest} not found in ${this.label} (no ${path})`);
        const actual = digestOf(bytes, parseDigest(digest, this.label).algorithm);
        const known = this.known.get(digest);
        if (actual !== digest || (known !== undefined && known.size !== bytes.length)) {
            throw new BlobDigestMismatchError(digest, actual, this.label, known?.size, bytes.length);
        }
        const parsed = parseManifest(bytes, known?.mediaType, `manifest ${digest} in ${this.label}`);
        const children = parsed.kind === 'index' ? parsed.manifests : [parsed.config, ...parsed.layers];
        for (const d of children) {
            if (!this.known.has(d.digest))
                this.known.set(d.digest, { mediaType: d.mediaType, size: d.size });
        }
        this.logger?.debug(`${this.label}: read ${parsed.kind} ${digest} (${bytes.length} bytes, ${parsed.mediaType})`);
        return { bytes, mediaType: parsed.mediaType };
    }
    async openBlob(digest) {
        this.checkOpen();
        const path = blobPath(digest, this.label);
        const opened = await this.store.open(path);
        if (opened === undefined)
            throw new errors/* ConfigurationError */.j1(`blob ${digest} not found in ${this.label} (no ${path})`);
        const expected = this.known.get(digest)?.size;
        if (expected !== undefined && expected !== opened.size) {
            opened.stream.destroy();
            throw new BlobDigestMismatchError(digest, 'unknown', this.label, expected, opened.size);
        }
        return { stream: verified(opened.stream, digest, opened.size, this.label), size: opened.size };
    }
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        await this.onClose?.();
    }
}

;// CONCATENATED MODULE: ./packages/core/src/image/source/tar.ts
/**
 * A small tar reader for image archives: it indexes an uncompressed tar file once, reading only the 512-byte
 * headers (and the small pax / GNU long-name records) at their offsets, and then streams any entry's data with
 * `fs.createReadStream({ start, end })`. Nothing is extracted and no entry is held in memory.
 *
 * Understood: POSIX ustar (with the 155-byte name prefix), pax extended headers (`x`; `path`, `linkpath`, `size`;
 * global `g` headers are skipped), GNU long names and long link names (`L`, `K`), base-256 numbers (GNU, for
 * sizes of 8 GiB and more), regular files, hard links, symbolic links and directories: what skopeo, buildah
 * (Go's archive/tar), docker and GNU/BSD tar write. Other entry types are indexed (so the archive can still be
 * walked) but reading one is an "unsupported tar entry" error.
 */





const BLOCK = 512;
/** Pax and GNU long-name records larger than this are refused (real ones are a few hundred bytes). */
const MAX_META_RECORD = 1024 * 1024;
/** Normalises an archive path for lookups: `./a//b/` → `a/b`; `''` for the root. */
function normaliseTarPath(name) {
    const n = external_node_path_.posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '');
    return n === '.' ? '' : n;
}
/** Reads a NUL-terminated string field. */
function field(block, offset, length) {
    const raw = block.subarray(offset, offset + length);
    const end = raw.indexOf(0);
    return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}
/** Reads a numeric field: octal text, or GNU base-256 when the high bit of the first byte is set. */
function numeric(block, offset, length) {
    const raw = block.subarray(offset, offset + length);
    if (raw[0] !== undefined && (raw[0] & 0x80) !== 0) {
        if ((raw[0] & 0x40) !== 0)
            return NaN; // negative base-256: never a valid size
        let value = raw[0] & 0x3f;
        for (let i = 1; i < raw.length; i++)
            value = value * 256 + raw[i];
        return value;
    }
    const text = raw.toString('ascii').replace(/\0.*$/s, '').trim();
    if (text === '')
        return 0;
    return /^[0-7]+$/.test(text) ? parseInt(text, 8) : NaN;
}
/** True when the header's checksum matches (as unsigned bytes, or as signed bytes like some old tars). */
function checksumOk(block) {
    const stored = numeric(block, 148, 8);
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
        const b = i >= 148 && i < 156 ? 0x20 : block[i];
        unsigned += b;
        signed += b > 127 ? b - 256 : b;
    }
    return stored === unsigned || stored === signed;
}
/** Parses pax records: `<length> <key>=<value>\n`, repeated. */
function parsePax(data, where) {
    const records = new Map();
    let pos = 0;
    while (pos < data.length) {
        if (data[pos] === 0)
            break; // padding some writers leave
        const space = data.indexOf(0x20, pos);
        const length = space === -1 ? NaN : Number(data.toString('ascii', pos, space));
        if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) {
            throw new errors/* ConfigurationError */.j1(`${where}: malformed pax extended header record`);
        }
        const record = data.toString('utf8', space + 1, pos + length - 1); // without the trailing newline
        const eq = record.indexOf('=');
        if (eq > 0)
            records.set(record.slice(0, eq), record.slice(eq + 1));
        pos += length;
    }
    return records;
}
const padded = (size) => Math.ceil(size / BLOCK) * BLOCK;
/**
 * Indexes an uncompressed tar file by reading its headers only. Throws a {@link ConfigurationError} when the
 * file is not a tar archive (the first header's checksum is wrong), or is truncated or corrupt further on.
 */
async function indexTar(file, label = file) {
    let fh;
    try {
        fh = await (0,promises_.open)(file, 'r');
    }
    catch (err) {
        throw new errors/* ConfigurationError */.j1(`cannot open archive '${label}': ${err.message}`, { cause: err });
    }
    try {
        const fileSize = (await fh.stat()).size;
        const entries = new Map();
        const header = Buffer.alloc(BLOCK);
        const readAt = async (buffer, length, position) => {
            let got = 0;
            while (got < length) {
                const { bytesRead } = await fh.read(buffer, got, length - got, position + got);
                if (bytesRead === 0)
                    break;
                got += bytesRead;
            }
            return got;
        };
        let pos = 0;
        let pax;
        let longName;
        let longLink;
        let first = true;
        for (;;) {
            const got = await readAt(header, BLOCK, pos);
            if (got === 0 && !first)
                break; // EOF without the two zero blocks: tolerated, as GNU tar does
            if (got < BLOCK) {
                throw new errors/* ConfigurationError */.j1(first ? `'${label}' is not a tar archive (too short)` : `'${label}' is a truncated tar archive`);
            }
            if (header.every((b) => b === 0))
                break; // end-of-archive marker
            const where = `tar archive '${label}' at offset ${pos}`;
            if (!checksumOk(header)) {
                throw new errors/* ConfigurationError */.j1(first
                    ? `'${label}' is not a tar archive (bad header checksum)`
                    : `${where}: corrupt header (bad checksum)`);
            }
            first = false;
            const typeFlag = String.fromCharCode(header[156]);
            let size = numeric(header, 124, 12);
            if (!Number.isSafeInteger(size) || size < 0)
                throw new errors/* ConfigurationError */.j1(`${where}: invalid size field`);
            const dataOffset = pos + BLOCK;
            if (typeFlag === 'x' || typeFlag === 'g' || typeFlag === 'L' || typeFlag === 'K') {
                if (size > MAX_META_RECORD)
                    throw new errors/* ConfigurationError */.j1(`${where}: meta record too large (${size} bytes)`);
                const data = Buffer.alloc(size);
                if ((await readAt(data, size, dataOffset)) < size) {
                    throw new errors/* ConfigurationError */.j1(`'${label}' is a truncated tar archive`);
                }
                if (typeFlag === 'x')
                    pax = parsePax(data, where);
                else if (typeFlag === 'L')
                    longName = field(data, 0, data.length);
                else if (typeFlag === 'K')
                    longLink = field(data, 0, data.length);
                // 'g' (global pax header): holds defaults such as mtime or charset, nothing that locates data.
                pos = dataOffset + padded(size);
                continue;
            }
            let name = field(header, 0, 100);
            const magic = header.toString('ascii', 257, 263);
            if (magic === 'ustar\0') {
                const prefix = field(header, 345, 155);
                if (prefix)
                    name = `${prefix}/${name}`;
            }
            if (longName !== undefined)
                name = longName;
            let linkName = field(header, 157, 100) || undefined;
            if (longLink !== undefined)
                linkName = longLink;
            let unsupported;
            if (pax) {
                const p = pax.get('path');
                if (p !== undefined)
                    name = p;
                const l = pax.get('linkpath');
                if (l !== undefined)
                    linkName = l;
                const s = pax.get('size');
                if (s !== undefined) {
                    size = /^\d+$/.test(s) ? Number(s) : NaN;
                    if (!Number.isSafeInteger(size))
                        throw new errors/* ConfigurationError */.j1(`${where}: invalid pax size '${s}'`);
                }
                if ([...pax.keys()].some((k) => k.startsWith('GNU.sparse.')))
                    unsupported = 'a GNU sparse file';
            }
            pax = longName = longLink = undefined;
            let type;
            if (typeFlag === '0' || typeFlag === '\0' || typeFlag === '7')
                type = 'file';
            else if (typeFlag === '1')
                type = 'hardlink';
            else if (typeFlag === '2')
                type = 'symlink';
            else if (typeFlag === '5')
                type = 'directory';
            else {
                type = 'other';
                unsupported ??= typeFlag === 'S' ? 'a GNU sparse file' : `an entry of type '${typeFlag}'`;
            }
            if (type === 'file' && name.endsWith('/'))
                type = 'directory'; // old V7 convention
            if (type === 'hardlink' || type === 'symlink' || type === 'directory') {
                if (type !== 'directory' && linkName === undefined) {
                    throw new errors/* ConfigurationError */.j1(`${where}: link '${name}' has no target`);
                }
            }
            const dataSize = type === 'file' || type === 'other' ? size : 0;
            if (dataOffset + dataSize > fileSize)
                throw new errors/* ConfigurationError */.j1(`'${label}' is a truncated tar archive`);
            const normalised = normaliseTarPath(name);
            if (normalised !== '') {
                entries.set(normalised, {
                    name: normalised,
                    type,
                    typeFlag,
                    size: dataSize,
                    offset: dataOffset,
                    linkName,
                    unsupported,
                });
            }
            // Hard links, symlinks and directories carry no data even when the size field is set (pax may say otherwise
            // for hard links; those also carry none in practice).
            pos = dataOffset + padded(type === 'file' || type === 'other' ? size : 0);
        }
        return { file, label, entries };
    }
    finally {
        await fh.close();
    }
}
/**
 * Finds a regular file in the index, following hard links and (up to 16) symbolic links the way skopeo does.
 * Returns undefined when there is no such entry; throws a {@link ConfigurationError} for an entry that is not a
 * regular file (a directory, a dangling or looping link, a device, a sparse file).
 */
function resolveTarFile(index, name) {
    let current = normaliseTarPath(name);
    for (let hops = 0; hops < 16; hops++) {
        const entry = index.entries.get(current);
        if (!entry) {
            if (hops === 0)
                return undefined;
            throw new errors/* ConfigurationError */.j1(`'${name}' in archive '${index.label}' is a link to '${current}', which is missing`);
        }
        switch (entry.type) {
            case 'file':
                if (entry.unsupported)
                    break;
                return { name: entry.name, size: entry.size, offset: entry.offset };
            case 'hardlink':
                current = normaliseTarPath(entry.linkName);
                continue;
            case 'symlink': {
                const target = entry.linkName;
                current = normaliseTarPath(target.startsWith('/') ? target : external_node_path_.posix.join(external_node_path_.posix.dirname(entry.name), target));
                continue;
            }
            case 'directory':
                throw new errors/* ConfigurationError */.j1(`'${name}' in archive '${index.label}' is a directory, not a file`);
            case 'other':
                break;
        }
        throw new errors/* ConfigurationError */.j1(`unsupported tar entry: '${entry.name}' in archive '${index.label}' is ${entry.unsupported ?? 'not a regular file'}`);
    }
    throw new errors/* ConfigurationError */.j1(`'${name}' in archive '${index.label}': too many levels of links`);
}
/** Streams an entry's data straight from the archive file (64 KiB reads; nothing buffered beyond that). */
function streamTarFile(index, ref) {
    if (ref.size === 0)
        return external_node_stream_.Readable.from([]);
    return (0,external_node_fs_.createReadStream)(index.file, { start: ref.offset, end: ref.offset + ref.size - 1 });
}
/** Reads a small entry whole; throws a {@link ConfigurationError} when it is larger than `limit`. */
async function readTarFile(index, ref, limit) {
    if (ref.size > limit) {
        throw new errors/* ConfigurationError */.j1(`'${ref.name}' in archive '${index.label}' is ${ref.size} bytes, more than the ${limit} expected`);
    }
    const fh = await (0,promises_.open)(index.file, 'r');
    try {
        const data = Buffer.alloc(ref.size);
        let got = 0;
        while (got < ref.size) {
            const { bytesRead } = await fh.read(data, got, ref.size - got, ref.offset + got);
            if (bytesRead === 0)
                throw new errors/* ConfigurationError */.j1(`'${index.label}' is a truncated tar archive`);
            got += bytesRead;
        }
        return data;
    }
    finally {
        await fh.close();
    }
}

;// CONCATENATED MODULE: ./packages/core/src/image/source/store.ts
/**
 * Where an image's files live: a directory on disk or an indexed tar archive. Image sources read the same
 * relative paths (`oci-layout`, `index.json`, `manifest.json`, `blobs/sha256/<hex>`, …) through this interface,
 * so an OCI layout works the same extracted or archived.
 */






/** Relative, forward-slash paths only, never leaving the root (the callers build them from validated parts). */
function checkRelative(path) {
    const n = normaliseTarPath(path);
    if (n === '' || n.split('/').includes('..'))
        throw new Error(`internal error: bad store path '${path}'`);
    return n;
}
/** Files of a directory on disk. */
class DirStore {
    location;
    constructor(location) {
        this.location = location;
    }
    path(rel) {
        return (0,external_node_path_.join)(this.location, ...checkRelative(rel).split('/'));
    }
    async size(rel) {
        try {
            const s = await (0,promises_.stat)(this.path(rel));
            if (!s.isFile())
                throw new errors/* ConfigurationError */.j1(`'${this.path(rel)}' is not a regular file`);
            return s.size;
        }
        catch (err) {
            if (err.code === 'ENOENT' ||
                err.code === 'ENOTDIR') {
                return undefined;
            }
            throw err;
        }
    }
    async has(rel) {
        try {
            await (0,promises_.stat)(this.path(rel));
            return true;
        }
        catch {
            return false;
        }
    }
    async read(rel, limit) {
        const size = await this.size(rel);
        if (size === undefined)
            return undefined;
        if (size > limit) {
            throw new errors/* ConfigurationError */.j1(`'${this.path(rel)}' is ${size} bytes, more than the ${limit} expected`);
        }
        return (0,promises_.readFile)(this.path(rel));
    }
    async open(rel) {
        const size = await this.size(rel);
        if (size === undefined)
            return undefined;
        return { stream: (0,external_node_fs_.createReadStream)(this.path(rel)), size };
    }
}
/** Files of an indexed, uncompressed tar archive, streamed by offset. */
class TarStore {
    index;
    location;
    constructor(index) {
        this.index = index;
        this.location = index.label;
    }
    async size(rel) {
        return resolveTarFile(this.index, checkRelative(rel))?.size;
    }
    async has(rel) {
        return this.index.entries.has(checkRelative(rel));
    }
    async read(rel, limit) {
        const ref = resolveTarFile(this.index, checkRelative(rel));
        return ref ? readTarFile(this.index, ref, limit) : undefined;
    }
    async open(rel) {
        const ref = resolveTarFile(this.index, checkRelative(rel));
        return ref ? { stream: streamTarFile(this.index, ref), size: ref.size } : undefined;
    }
}
/** A stream of an in-memory buffer (for synthesised or already-read small blobs). */
function bufferStream(data) {
    return external_node_stream_.Readable.from([data]);
}

;// CONCATENATED MODULE: ./packages/core/src/image/source/docker-archive.ts
/**
 * `docker save` archives (docker-archive: in skopeo): a `manifest.json` listing images as
 * `{ Config, RepoTags, Layers }`, the config JSON, and one uncompressed (sometimes gzip) tar per layer, at
 * `<id>/layer.tar` (docker ≤ 24, often a symlink to a shared copy) or `<hex>.tar` (skopeo, buildah).
 *
 * Such an archive has no registry manifest, so one is synthesised: Docker v2 schema 2, the config as
 * `application/vnd.docker.container.image.v1+json`, each layer as stored (`…rootfs.diff.tar`, or `….tar.gzip`
 * when the file starts with the gzip magic), digests computed by hashing the files once. The bytes depend only
 * on the archive, so the same archive always gives the same digest.
 *
 * Docker 25+ writes an OCI image layout (`oci-layout`, `index.json`, `blobs/…`) with `manifest.json` added; such
 * archives are read as OCI layouts, selecting by RepoTags, `@N` or the containerd image-name annotation.
 */







/** The containerd annotation docker 25+ puts on index.json entries: the full image name. */
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';
/** `name:tag` in docker's canonical form (`app:1` → `docker.io/library/app:1`), or undefined when invalid. */
function canonicalTag(tag) {
    const ref = (0,reference/* tryParseImageReference */.tj)(tag);
    if (!ref || ref.digest !== undefined)
        return undefined;
    return `${(0,reference/* repositoryName */.aR)(ref)}:${(0,reference/* effectiveTag */.yr)(ref)}`;
}
/** Parses `@N` (an index into manifest.json); undefined when `ref` is not of that form. */
function sourceIndex(ref) {
    const m = /^@(\d+)$/.exec(ref);
    return m ? Number(m[1]) : undefined;
}
/** Reads and validates manifest.json; undefined when the archive has none. */
async function readItems(store, where) {
    const bytes = await store.read('manifest.json', MAX_METADATA_BYTES);
    if (bytes === undefined)
        return undefined;
    const doc = parseJson(bytes, `'manifest.json' in ${where}`);
    if (!Array.isArray(doc))
        throw new errors/* ConfigurationError */.j1(`'manifest.json' in ${where} is not a JSON array`);
    return doc.map((item, i) => {
        const it = item;
        const ok = typeof it === 'object' &&
            it !== null &&
            typeof it.Config === 'string' &&
            Array.isArray(it.Layers) &&
            it.Layers.every((l) => typeof l === 'string') &&
            (it.RepoTags === undefined ||
                it.RepoTags === null ||
                (Array.isArray(it.RepoTags) && it.RepoTags.every((t) => typeof t === 'string')));
        if (!ok) {
            throw new errors/* ConfigurationError */.j1(`'manifest.json' in ${where}: item @${i} needs 'Config' and 'Layers' (strings)`);
        }
        return {
            Config: it.Config,
            Layers: it.Layers,
            RepoTags: it.RepoTags ?? [],
        };
    });
}
/** `'app:1' (@0), '@1'` for messages. */
function describeItems(items) {
    return listNames(items.flatMap((it, i) => (it.RepoTags.length > 0 ? it.RepoTags.map((t) => `${t} (@${i})`) : [`@${i}`])));
}
/** Picks the manifest.json item `ref` names (`name:tag` or `@N`), or the only one. */
function selectItem(items, ref, where) {
    if (items.length === 0)
        throw new errors/* ConfigurationError */.j1(`${where} holds no image: its manifest.json is empty`);
    if (ref === undefined) {
        if (items.length === 1)
            return items[0];
        throw new errors/* ConfigurationError */.j1(`${where} holds ${items.length} images; name the one to use (…:<name:tag> or …:@<index>); available: ${describeItems(items)}`);
    }
    const n = sourceIndex(ref);
    if (n !== undefined) {
        const item = items[n];
        if (!item) {
            throw new errors/* ConfigurationError */.j1(`${where} has no image @${n}: it holds ${items.length} (@0 to @${items.length - 1})`);
        }
        return item;
    }
    const wanted = canonicalTag(ref);
    if (wanted === undefined) {
        throw new errors/* ConfigurationError */.j1(`'${ref}' is not a valid image name for ${where}: expected 'name:tag' or '@<index>'`);
    }
    const item = items.find((it) => it.RepoTags.some((t) => canonicalTag(t) === wanted));
    if (!item)
        throw new errors/* ConfigurationError */.j1(`no image tagged '${ref}' in ${where}; available: ${describeItems(items)}`);
    return item;
}
/** An image of a classic docker archive, with a synthesised Docker v2 schema 2 manifest. */
class DockerArchiveSource {
    store;
    item;
    config;
    diffIds;
    label;
    logger;
    onClose;
    kind = 'docker-archive';
    configDigest;
    prepared;
    closed = false;
    constructor(store, item, config, diffIds, label, logger, onClose) {
        this.store = store;
        this.item = item;
        this.config = config;
        this.diffIds = diffIds;
        this.label = label;
        this.logger = logger;
        this.onClose = onClose;
        this.configDigest = digestOf(config);
    }
    describe() {
        return this.label;
    }
    /** Hashes every layer file once (streaming) and builds the manifest; memoised. */
    prepare() {
        if (this.closed)
            throw new Error(`internal error: ${this.label} was used after close()`);
        this.prepared ??= this.build();
        return this.prepared;
    }
    async build() {
        const started = Date.now();
        const byPath = new Map();
        const layers = new Map();
        const descriptors = [];
        for (const [i, path] of this.item.Layers.entries()) {
            let d = byPath.get(path);
            if (!d) {
                const opened = await this.store.open(path);
                if (!opened) {
                    throw new errors/* ConfigurationError */.j1(`layer '${path}' listed in manifest.json is missing from ${this.label}`);
                }
                const { digest, size, head } = await digestStream(opened.stream);
                d = { mediaType: layerMediaType(head, path, this.label), digest, size };
                if (d.mediaType === DOCKER_LAYER && digest !== this.diffIds[i]) {
                    // An uncompressed layer's digest is its DiffID: a difference means the archive is corrupt.
                    throw new BlobDigestMismatchError(this.diffIds[i], digest, `${this.label} (layer '${path}')`);
                }
                byPath.set(path, d);
                layers.set(digest, { path, size });
            }
            descriptors.push(d);
        }
        // Key order as docker and containers/image write it: mediaType, size, digest.
        const manifest = Buffer.from(JSON.stringify({
            schemaVersion: 2,
            mediaType: DOCKER_MANIFEST,
            config: { mediaType: DOCKER_CONFIG, size: this.config.length, digest: this.configDigest },
            layers: descriptors.map((d) => ({ mediaType: d.mediaType, size: d.size, digest: d.digest })),
        }));
        const digest = digestOf(manifest);
        this.logger?.debug(`${this.label}: hashed ${layers.size} layer(s) in ${Date.now() - started} ms; manifest ${digest}`);
        return { manifest, digest, layers };
    }
    async rootManifest() {
        const p = await this.prepare();
        return { bytes: p.manifest, digest: p.digest, mediaType: DOCKER_MANIFEST };
    }
    async manifest(digest) {
        const p = await this.prepare();
        if (digest !== p.digest) {
            throw new errors/* ConfigurationError */.j1(`manifest ${digest} not found in ${this.label}: a docker archive image has one manifest, ${p.digest}`);
        }
        return { bytes: p.manifest, mediaType: DOCKER_MANIFEST };
    }
    async openBlob(digest) {
        parseDigest(digest, this.label);
        const p = await this.prepare();
        if (digest === this.configDigest) {
            return {
                stream: verified(bufferStream(this.config), digest, this.config.length, this.label),
                size: this.config.length,
            };
        }
        if (digest === p.digest) {
            return {
                stream: verified(bufferStream(p.manifest), digest, p.manifest.length, this.label),
                size: p.manifest.length,
            };
        }
        const layer = p.layers.get(digest);
        if (!layer)
            throw new errors/* ConfigurationError */.j1(`blob ${digest} not found in ${this.label}`);
        const opened = await this.store.open(layer.path);
        if (!opened)
            throw new errors/* ConfigurationError */.j1(`layer '${layer.path}' disappeared from ${this.label}`);
        if (opened.size !== layer.size) {
            opened.stream.destroy();
            throw new BlobDigestMismatchError(digest, 'unknown', this.label, layer.size, opened.size);
        }
        return { stream: verified(opened.stream, digest, layer.size, this.label), size: layer.size };
    }
    async close() {
        if (this.closed)
            return;
        this.closed = true;
        await this.onClose?.();
    }
}
/** The media type of a stored layer, from its first bytes. */
function layerMediaType(head, path, where) {
    if (head[0] === 0x1f && head[1] === 0x8b)
        return DOCKER_LAYER_GZIP;
    const compression = head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd
        ? 'zstd'
        : head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
            ? 'xz'
            : head.subarray(0, 3).toString('latin1') === 'BZh'
                ? 'bzip2'
                : undefined;
    if (compression) {
        throw new errors/* ConfigurationError */.j1(`layer '${path}' in ${where} is ${compression}-compressed; a docker archive layer must be a tar or a gzip tar`);
    }
    return DOCKER_LAYER;
}
/**
 * Opens an image of a docker archive whose files `store` reads. `ref` is `name:tag`, `@N` or undefined (the only
 * image). `location` is the archive path, for messages.
 */
async function openDockerArchive(store, location, ref, opts = {}) {
    const where = `docker archive '${location}'`;
    const items = await readItems(store, where);
    if (items === undefined) {
        if (await store.has('repositories')) {
            throw new errors/* ConfigurationError */.j1(`${where} is in the pre-1.10 'docker save' format (a 'repositories' file, no 'manifest.json'), which is not supported`);
        }
        if (await store.has('oci-layout')) {
            throw new errors/* ConfigurationError */.j1(`'${location}' is an OCI archive, not a docker archive (it has no 'manifest.json'); use 'oci-archive:${location}'`);
        }
        throw new errors/* ConfigurationError */.j1(`'${location}' is not a docker archive: it has no 'manifest.json'`);
    }
    if ((await store.has('oci-layout')) && (await store.has('index.json'))) {
        const layout = await readOciLayout(store, where);
        const root = await selectDockerOci(store, layout, items, ref, where);
        const name = ref ?? root.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? root.annotations?.[REF_NAME_ANNOTATION];
        opts.logger?.debug(`${where} is an OCI layout (docker 25+); selected ${root.digest}`);
        return new OciImageSource('docker-archive', store, root, `docker-archive:${location}${name ? `:${name}` : ''}`, opts.logger, opts.onClose);
    }
    const item = selectItem(items, ref, where);
    const config = await store.read(item.Config, MAX_METADATA_BYTES);
    if (config === undefined) {
        throw new errors/* ConfigurationError */.j1(`config '${item.Config}' listed in manifest.json is missing from ${where}`);
    }
    const parsed = parseJson(config, `config '${item.Config}' in ${where}`);
    const diffIds = parsed?.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string')) {
        throw new errors/* ConfigurationError */.j1(`config '${item.Config}' in ${where} has no rootfs.diff_ids`);
    }
    if (diffIds.length !== item.Layers.length) {
        throw new errors/* ConfigurationError */.j1(`${where} is inconsistent: manifest.json lists ${item.Layers.length} layer(s) but the config has ${diffIds.length} diff_ids`);
    }
    const name = ref ?? item.RepoTags[0];
    return new DockerArchiveSource(store, item, config, diffIds, `docker-archive:${location}${name ? `:${name}` : ''}`, opts.logger, opts.onClose);
}
/** The config digest of an OCI manifest or index entry (an index matches when any child has that config). */
async function entryHasConfig(store, entry, config, where) {
    const read = async (d) => {
        const bytes = await store.read(blobPath(d.digest, where), MAX_MANIFEST_BYTES);
        return bytes === undefined
            ? undefined
            : parseManifest(bytes, d.mediaType, `manifest ${d.digest} in ${where}`);
    };
    const top = await read(entry);
    if (!top)
        return false;
    if (top.kind === 'manifest')
        return top.config.digest === config;
    for (const child of top.manifests) {
        const m = await read(child);
        if (m?.kind === 'manifest' && m.config.digest === config)
            return true;
    }
    return false;
}
/** Selects the index.json entry of a docker 25+ archive: by `@N`, RepoTags, containerd name or ref name. */
async function selectDockerOci(store, layout, items, ref, where) {
    const entries = layout.manifests;
    const names = () => items.length > 0
        ? describeItems(items)
        : listNames(entries.map((e) => e.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? entryName(e)));
    if (ref === undefined) {
        if (entries.length === 1)
            return entries[0];
        if (entries.length === 0)
            throw new errors/* ConfigurationError */.j1(`${where} holds no image: its index.json lists no manifests`);
        throw new errors/* ConfigurationError */.j1(`${where} holds ${entries.length} images; name the one to use (…:<name:tag> or …:@<index>); available: ${names()}`);
    }
    const byConfig = async (item) => {
        const config = await store.read(item.Config, MAX_METADATA_BYTES);
        if (config === undefined)
            throw new errors/* ConfigurationError */.j1(`config '${item.Config}' is missing from ${where}`);
        const digest = digestOf(config);
        for (const e of entries)
            if (await entryHasConfig(store, e, digest, where))
                return e;
        throw new errors/* ConfigurationError */.j1(`${where}: no index.json entry has the config ${digest} of '${item.Config}'`);
    };
    const n = sourceIndex(ref);
    if (n !== undefined) {
        if (items.length > 0)
            return byConfig(selectItem(items, ref, where));
        const entry = entries[n];
        if (!entry)
            throw new errors/* ConfigurationError */.j1(`${where} has no image @${n}: it holds ${entries.length}`);
        return entry;
    }
    const wanted = canonicalTag(ref);
    if (wanted !== undefined) {
        const named = entries.find((e) => {
            const full = e.annotations?.[CONTAINERD_NAME_ANNOTATION];
            return full !== undefined && canonicalTag(full) === wanted;
        });
        if (named)
            return named;
        const item = items.find((it) => it.RepoTags.some((t) => canonicalTag(t) === wanted));
        if (item)
            return byConfig(item);
    }
    try {
        return selectByRefName(layout, ref, where);
    }
    catch {
        throw new errors/* ConfigurationError */.j1(`no image tagged '${ref}' in ${where}; available: ${names()}`);
    }
}

;// CONCATENATED MODULE: ./packages/core/src/image/source/open.ts
/**
 * `openImageSource(spec)`: parses a source spec the way skopeo names transports and opens the image.
 *
 *     oci:<dir>[:<ref>]                 an OCI image layout directory; <ref> is an org.opencontainers.image.ref.name
 *                                       (or @sha256:… for an index.json entry by digest)
 *     oci-archive:<file>[:<ref>]        the same, as a tar (or tar.gz) archive
 *     docker-archive:<file>[:<ref>]     a `docker save` archive; <ref> is name:tag (RepoTags) or @N (its index)
 *     <path>                            a directory with an oci-layout file, or an archive of either kind,
 *                                       detected by content
 *
 * As in skopeo, the path ends at the first `:` after the transport, so a ref may contain colons (`app:1`) and a
 * path may not. Uncompressed archives are indexed in place (entries streamed by offset, nothing extracted); a
 * gzip-compressed archive is first decompressed to a temp file, removed by `close()`.
 */











const EXPECTED = "expected 'oci:<dir>[:<ref>]', 'oci-archive:<file>[:<ref>]', 'docker-archive:<file>[:<name:tag>|:@<index>]' or a path";
/** skopeo transports that name something other than local files. */
const OTHER_TRANSPORTS = new Set([
    'docker',
    'docker-daemon',
    'containers-storage',
    'dir',
    'ostree',
    'sif',
    'tarball',
    'atomic',
    'http',
    'https',
]);
/** Parses a source spec (no file system access). Throws a {@link ConfigurationError} for a malformed one. */
function parseImageSourceSpec(spec) {
    if (typeof spec !== 'string' || spec.trim() === '')
        throw new errors/* ConfigurationError */.j1(`empty image source; ${EXPECTED}`);
    const m = /^([a-z][a-z0-9-]*):(.*)$/s.exec(spec);
    if (m && (m[1] === 'oci' || m[1] === 'oci-archive' || m[1] === 'docker-archive')) {
        const rest = m[2];
        const colon = rest.indexOf(':');
        const path = colon === -1 ? rest : rest.slice(0, colon);
        const ref = colon === -1 ? undefined : rest.slice(colon + 1);
        if (path === '')
            throw new errors/* ConfigurationError */.j1(`image source '${spec}' has no path after '${m[1]}:'; ${EXPECTED}`);
        return { transport: m[1], path, ref: ref === '' ? undefined : ref };
    }
    if (m && OTHER_TRANSPORTS.has(m[1])) {
        throw new errors/* ConfigurationError */.j1(`image source '${spec}': the '${m[1]}:' transport is not a local image file; ${EXPECTED}`);
    }
    return { transport: 'path', path: spec };
}
/** Stat that says "missing" instead of throwing. */
async function statOrUndefined(path) {
    try {
        return await (0,promises_.stat)(path);
    }
    catch (err) {
        if (err.code === 'ENOENT' ||
            err.code === 'ENOTDIR') {
            return undefined;
        }
        throw new errors/* ConfigurationError */.j1(`cannot read '${path}': ${err.message}`, { cause: err });
    }
}
/** Indexes an archive; a gzip one is decompressed to a temp file first. */
async function openArchive(file, opts) {
    const head = Buffer.alloc(6);
    const fh = await (0,promises_.open)(file, 'r').catch((err) => {
        throw new errors/* ConfigurationError */.j1(`cannot open archive '${file}': ${err.message}`, { cause: err });
    });
    try {
        await fh.read(head, 0, 6, 0);
    }
    finally {
        await fh.close();
    }
    const compression = head.readUInt32BE(0) === 0x28b52ffd
        ? 'zstd'
        : head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
            ? 'xz'
            : head.subarray(0, 3).toString('latin1') === 'BZh'
                ? 'bzip2'
                : undefined;
    if (compression) {
        throw new errors/* ConfigurationError */.j1(`archive '${file}' is ${compression}-compressed; only tar and gzip tar are supported`);
    }
    if (!(head[0] === 0x1f && head[1] === 0x8b)) {
        return { store: new TarStore(await indexTar(file)), cleanup: async () => undefined };
    }
    const dir = await (0,promises_.mkdtemp)((0,external_node_path_.join)(opts.tmpDir ?? (0,external_node_os_.tmpdir)(), 'kiln-image-'));
    const cleanup = () => (0,promises_.rm)(dir, { recursive: true, force: true });
    try {
        const tar = (0,external_node_path_.join)(dir, 'archive.tar');
        const started = Date.now();
        try {
            await (0,external_node_stream_promises_.pipeline)((0,external_node_fs_.createReadStream)(file), (0,external_node_zlib_.createGunzip)(), (0,external_node_fs_.createWriteStream)(tar));
        }
        catch (err) {
            throw new errors/* ConfigurationError */.j1(`cannot decompress gzip archive '${file}': ${err.message}`, {
                cause: err,
            });
        }
        opts.logger?.debug(`decompressed '${file}' to ${tar} in ${Date.now() - started} ms`);
        return { store: new TarStore(await indexTar(tar, file)), cleanup };
    }
    catch (err) {
        await cleanup();
        throw err;
    }
}
/** Opens an OCI layout read through `store` (a directory or an archive). */
async function openOci(kind, store, location, ref, logger, onClose) {
    const where = kind === 'oci-layout' ? `OCI layout '${location}'` : `OCI archive '${location}'`;
    const layout = await readOciLayout(store, where);
    const root = selectByRefName(layout, ref, where);
    const name = ref ?? root.annotations?.[REF_NAME_ANNOTATION];
    logger?.debug(`${where}: selected ${root.mediaType} ${root.digest}${name ? ` ('${name}')` : ''}`);
    return new OciImageSource(kind, store, root, `${kind}:${location}${name ? `:${name}` : ''}`, logger, onClose);
}
/**
 * Opens the image a spec names (see the module comment for the forms). Errors are {@link ConfigurationError}s
 * that say what is missing or wrong and what is available. Call `close()` on the result when done.
 */
async function openImageSource(spec, opts = {}) {
    const parsed = parseImageSourceSpec(spec);
    let path = (0,external_node_path_.resolve)(parsed.path);
    let ref = parsed.ref;
    let st = await statOrUndefined(path);
    if (!st && parsed.transport === 'path' && parsed.path.includes(':')) {
        // A bare '<path>:<ref>': the path ends at the first colon, as with the transports.
        const colon = parsed.path.indexOf(':');
        const candidate = (0,external_node_path_.resolve)(parsed.path.slice(0, colon));
        const candidateStat = parsed.path.slice(0, colon) ? await statOrUndefined(candidate) : undefined;
        if (candidateStat) {
            path = candidate;
            ref = parsed.path.slice(colon + 1) || undefined;
            st = candidateStat;
        }
    }
    if (!st)
        throw new errors/* ConfigurationError */.j1(`image source '${spec}': '${path}' does not exist`);
    const logger = opts.logger;
    if (parsed.transport === 'oci' || (parsed.transport === 'path' && st.isDirectory())) {
        if (!st.isDirectory()) {
            throw new errors/* ConfigurationError */.j1(`image source '${spec}': '${path}' is a file, not an OCI layout directory (for an archive use 'oci-archive:' or 'docker-archive:')`);
        }
        return openOci('oci-layout', new DirStore(path), path, ref, logger);
    }
    if (!st.isFile())
        throw new errors/* ConfigurationError */.j1(`image source '${spec}': '${path}' is not a regular file`);
    const archive = await openArchive(path, opts);
    try {
        const { store } = archive;
        const isOci = (await store.has('oci-layout')) || (await store.has('index.json'));
        const isDocker = await store.has('manifest.json');
        let transport = parsed.transport;
        if (transport === 'path') {
            if (isDocker)
                transport = 'docker-archive';
            else if (isOci)
                transport = 'oci-archive';
            else {
                throw new errors/* ConfigurationError */.j1(`image source '${spec}': '${path}' is neither an OCI archive (no oci-layout / index.json) nor a docker archive (no manifest.json)`);
            }
            logger?.debug(`'${path}' detected as ${transport}`);
        }
        if (transport === 'oci-archive') {
            if (!isOci && isDocker) {
                throw new errors/* ConfigurationError */.j1(`image source '${spec}': '${path}' is a docker archive, not an OCI archive; use 'docker-archive:${path}'`);
            }
            return await openOci('oci-archive', store, path, ref, logger, archive.cleanup);
        }
        return await openDockerArchive(store, path, ref, { logger, onClose: archive.cleanup });
    }
    catch (err) {
        await archive.cleanup();
        throw err;
    }
}

// EXTERNAL MODULE: ./packages/core/src/action/run.ts + 31 modules
var run = __webpack_require__(2512);
// EXTERNAL MODULE: ./packages/core/src/registry/copy.ts + 1 modules
var copy = __webpack_require__(5035);
;// CONCATENATED MODULE: ./actions/push-registry/src/action.ts
/**
 * push-registry: push an image a builder wrote (an OCI layout directory, an OCI or docker archive) or an image in
 * another registry to one or more registries and tags at once, by digest, skipping what is already there.
 * The declaration below is the single source of the action's inputs and outputs; the protocol work is
 * @kiln/core's registry client and copy engine.
 */



const { /* createRegistryClient */ "Hn": createRegistryClient, /* Deadline */ "B2": Deadline, /* expandDestinations */ "wt": expandDestinations, /* fillCopySummary */ "XC": fillCopySummary, /* overallResult */ "ZH": overallResult, /* parseTags */ "rL": parseTags, /* pinnedImages */ "Dl": pinnedImages, /* registryInputs */ "P4": registryInputs, /* resultsJson */ "ji": resultsJson, /* taggedRefs */ "Lk": taggedRefs, /* userFacingError */ "an": userFacingError, /* verdictLine */ "MT": verdictLine, } = action_support;
const action_spec = (0,spec/* defineAction */.Q)({
    name: 'push-registry',
    title: 'Kiln push-registry',
    description: 'Push an image (OCI layout, OCI or docker archive, or an image in another registry) to one or more registries and tags by digest; skip what is there, never rewrite an identical tag.',
    branding: { icon: 'upload', color: 'orange' },
    inputs: {
        source: {
            type: 'string',
            required: true,
            placeholder: 'image source',
            description: 'What to push: an OCI layout directory (`oci:<dir>[:<ref>]` or a path), an OCI archive (`oci-archive:<file>[:<ref>]`), a docker archive (`docker-archive:<file>[:<name:tag>]`), or an image in a registry (`docker://<ref>`, or a reference that is not a file in the workspace). Archives are detected by content.',
        },
        destinations: {
            type: 'list',
            placeholder: 'references',
            description: 'Where to push: image references, one per line or comma-separated, on one or several registries (`harbor.example.com/team/app`, `ghcr.io/org/app:1.2.3`). A reference with a tag keeps it. Default on GitLab: `$CI_REGISTRY_IMAGE`.',
        },
        tags: {
            type: 'list',
            placeholder: 'tags',
            description: "Tags given at every destination repository (e.g. `1.2.3, latest`, or docker/metadata-action's `version`). A destination without a tag and without `tags` is pushed by digest only.",
        },
        'allow-overwrite': {
            type: 'boolean',
            default: 'true',
            description: 'Move a tag that points to another digest (what `docker push` does to `latest`). `false` refuses, before anything is written, to move any existing tag: for release tags.',
        },
        'dry-run': {
            type: 'boolean',
            default: 'false',
            description: 'Read the source and the destinations, report what would be uploaded and tagged, write nothing.',
        },
        ...registryInputs('destination'),
    },
    outputs: {
        digest: {
            description: 'Digest of the pushed manifest or index (`sha256:…`): the same at every destination.',
        },
        image: {
            description: '`registry/repository@digest` of each destination repository, one per line: what to deploy (empty in a dry run).',
        },
        tags: {
            description: 'Every tagged reference that now holds the digest (`registry/repository:tag`), one per line (empty in a dry run).',
        },
        platforms: {
            description: 'Platforms of a multi-arch index, comma-separated (`linux/amd64,linux/arm64`); empty for one image.',
        },
        result: {
            description: '`pushed` (something was written), `unchanged` (every destination already held the digest) or `dry-run`.',
        },
        'bytes-uploaded': { description: 'Blob bytes uploaded over all destinations (would be, in a dry run).' },
        results: {
            description: 'JSON array, one object per destination: ref, action, previousDigest, mounted, uploaded, skipped, bytes, requests.',
        },
    },
});
const UNSUPPORTED_TRANSPORT = /^(docker-daemon|containers-storage|dir|ostree|sif|tarball|atomic):/;
/**
 * Reads the `source` input: a transport prefix decides (`oci:`, `oci-archive:`, `docker-archive:`, `docker://`);
 * otherwise a value that looks like a path (starts with `/`, `./`, `../`, ends in `.tar`/`.tgz`/`.tar.gz`) or names
 * something in the workspace is local, and anything else must be an image reference. Relative paths are
 * resolved against the workspace.
 */
function classifySource(value, workspace) {
    const v = value.trim();
    if (v.startsWith('docker://'))
        return {
            kind: 'registry',
            ref: (0,reference/* parseImageReference */.o_)(v.slice('docker://'.length), { inputName: 'source' }),
        };
    const other = UNSUPPORTED_TRANSPORT.exec(v);
    if (other)
        throw new errors/* InputError */.dz('source', `the '${other[1]}:' transport is not supported; export the image first (\`docker save -o app.tar app:1\` → docker-archive:app.tar, or build with \`--output type=oci,dest=…\`) or push it from a registry with docker://.`);
    let parsed;
    try {
        parsed = parseImageSourceSpec(v);
    }
    catch (e) {
        throw new errors/* InputError */.dz('source', (0,errors/* errorMessage */.gJ)(e));
    }
    if (parsed.transport !== 'path') {
        const path = (0,external_node_path_.resolve)(workspace, parsed.path);
        return { kind: 'local', spec: `${parsed.transport}:${path}${parsed.ref ? `:${parsed.ref}` : ''}` };
    }
    const beforeColon = v.split(':')[0] ?? '';
    const local = /^(\/|\.\.?(\/|$))/.test(v) ||
        /\.(tar|tgz|tar\.gz)(:|$)/.test(v) ||
        (0,external_node_fs_.existsSync)((0,external_node_path_.resolve)(workspace, v)) ||
        (beforeColon !== '' && (0,external_node_fs_.existsSync)((0,external_node_path_.resolve)(workspace, beforeColon)));
    if (local)
        return { kind: 'local', spec: (0,external_node_path_.resolve)(workspace, v) };
    return { kind: 'registry', ref: (0,reference/* parseImageReference */.o_)(v, { inputName: 'source' }) };
}
const action = (0,run/* defineActionRunner */.o)({
    spec: action_spec,
    async main({ inputs, log, signal, summary, setOutput, platform }) {
        // Everything is validated before the first request.
        const source = classifySource(inputs.source, platform.workspace);
        const tags = parseTags(inputs.tags);
        let destinations = inputs.destinations;
        if (destinations.length === 0) {
            const ciImage = platform.kind === 'gitlab' ? platform.env.CI_REGISTRY_IMAGE : undefined;
            if (!ciImage)
                throw new errors/* InputError */.dz('destinations', "is required; expected one or more image references such as 'ghcr.io/org/app' (with `tags`) or 'ghcr.io/org/app:1.2.3'.");
            log.info(`No destinations given: pushing to $CI_REGISTRY_IMAGE (${ciImage}).`);
            destinations = [ciImage];
        }
        const defaultTag = source.kind === 'registry' ? (source.ref.tag ?? (source.ref.digest ? undefined : 'latest')) : undefined;
        const dsts = expandDestinations(destinations, tags, { inputName: 'destinations', defaultTag });
        if (source.kind === 'local' && (inputs['source-username'] || inputs['source-password']))
            log.warning('source-username/source-password are not used: the source is a local image.');
        const dryRun = inputs['dry-run'];
        // The timer is unref'd: an early throw below leaves nothing running.
        const deadline = new Deadline(signal, inputs.timeout);
        const client = createRegistryClient(inputs, { platform, log, signal: deadline.signal }, {
            source: source.kind === 'registry' ? source.ref.registry : undefined,
            destinations: dsts.map((d) => d.registry),
        });
        let image;
        let content;
        if (source.kind === 'registry')
            content = (0,copy/* registrySource */.Bf)(client, source.ref);
        else {
            try {
                image = await openImageSource(source.spec, { logger: log });
            }
            catch (e) {
                deadline.dispose();
                throw e instanceof errors/* ConfigurationError */.j1 ? new errors/* InputError */.dz('source', e.message) : e;
            }
            content = (0,copy/* localImageSource */.wl)(image);
        }
        let result;
        try {
            log.info(`${dryRun ? 'Dry run: planning the push of' : 'Pushing'} ${content.display} to ${dsts.map(reference/* formatReference */.FH).join(', ')}.`);
            result = await (0,copy/* pushImage */.GH)(content, dsts, {
                client,
                allowOverwrite: inputs['allow-overwrite'],
                dryRun,
                signal: deadline.signal,
            });
        }
        catch (e) {
            const err = userFacingError(e, deadline);
            summary.heading('push-registry: ❌ failed').paragraph((0,errors/* errorMessage */.gJ)(err));
            throw err;
        }
        finally {
            deadline.dispose();
            await image?.close();
        }
        setOutput('digest', result.source.digest);
        setOutput('platforms', result.source.platforms.join(','));
        setOutput('result', overallResult(result, dryRun));
        setOutput('bytes-uploaded', result.destinations.reduce((n, d) => n + d.bytesUploaded, 0));
        setOutput('results', resultsJson(result));
        if (!dryRun) {
            setOutput('image', pinnedImages(result).join('\n'));
            setOutput('tags', taggedRefs(result).join('\n'));
        }
        fillCopySummary(summary, 'push-registry', result, { dryRun });
        log.info(verdictLine('push-registry', result, dryRun));
        return 0;
    },
});


/***/ })

};
