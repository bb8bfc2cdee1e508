declare module '@vercel/ncc' {
  interface NccOptions {
    minify?: boolean;
    quiet?: boolean;
    sourceMap?: boolean;
    license?: string;
    target?: string;
    cache?: boolean | string;
    transpileOnly?: boolean;
    externals?: string[];
  }
  interface NccAsset {
    source: string | Buffer;
    permissions?: number;
  }
  function ncc(
    entry: string,
    options?: NccOptions,
  ): Promise<{ code: string; assets?: Record<string, NccAsset> }>;
  export default ncc;
}
