/** Days until a server's TLS certificate expires (the `certificate` assertion). */

export interface CertificateInfo {
  daysRemaining: number;
  validTo: string;
  subject?: string;
  issuer?: string;
}

export function fetchCertificate(
  url: URL,
  opts: { insecure: boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<CertificateInfo> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // node:tls is loaded by the first certificate check, not at start.
    const socket = process.getBuiltinModule('node:tls').connect({
      host,
      port: Number(url.port || 443),
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      rejectUnauthorized: !opts.insecure,
      timeout: opts.timeoutMs,
    });
    const done = (err?: Error, info?: CertificateInfo) => {
      socket.destroy();
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(info as CertificateInfo);
    };
    const onAbort = () => done(new Error('cancelled'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      if (!cert || !cert.valid_to) return done(new Error('the server sent no certificate'));
      const validTo = new Date(cert.valid_to);
      done(undefined, {
        daysRemaining: Math.floor((validTo.getTime() - Date.now()) / 86_400_000),
        validTo: validTo.toISOString(),
        subject: typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined,
        issuer: typeof cert.issuer?.CN === 'string' ? cert.issuer.CN : undefined,
      });
    });
    socket.once('timeout', () =>
      done(new Error(`no TLS handshake with ${url.host} within ${opts.timeoutMs}ms`)),
    );
    socket.once('error', (e) => done(e));
  });
}
