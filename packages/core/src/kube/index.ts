/**
 * Kubernetes (deploy-k8s): the kubeconfig, exec credential plugins, and an API client on Kiln's HTTP layer.
 *
 * Decision: Kiln has its own Kubernetes client instead of `@kubernetes/client-node`.
 * Measured (reference/kubernetes-and-releases.md): client-node 2.0.1 crashes on import under Node 20 (its undici 8
 * needs Node ≥ 22.19) while Kiln supports Node ≥ 20.18; it bundles with ncc to 4.9 MB minified and takes
 * 0.75–1 s to import, against Kiln's aim of every start within 2× a bare `node -e 0`; it refuses http:// servers
 * unless told to skip TLS verification; and it would bring a second HTTP stack beside Kiln's, without our
 * deadlines, Retry-After handling, body limits, proxy rules and secret-header rules. What deploy-k8s needs is
 * small and stable — kubeconfig loading (client-go's rules), exec plugins, discovery, server-side apply, get/list/
 * patch/delete and watch — and is written here from client-go's behaviour (tools/clientcmd, rest, the exec
 * plugin protocol) on Node's own http/https through `http/http.ts`. Measured here (esbuild, minified, the
 * kubeconfig loader and the client with what they import): 160 KB, of which the `yaml` parser Kiln already ships
 * is 115 KB, this client with the http layer it runs on 44 KB (16 KB gzipped); importing it takes about 12 ms under Node 20.20 and 28 ms under
 * Node 24 on a shared 2-core machine, against 0.75–1 s for client-node. It loads only in runs that talk to
 * Kubernetes.
 */
export * from './kubeconfig.js';
export * from './exec-credential.js';
export * from './errors.js';
export * from './client.js';
