import 'reflect-metadata'; // @peculiar/x509 resolves its parsers through tsyringe, which needs it
import * as x509 from '@peculiar/x509';
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../store/durableFile.js';

/**
 * A desk's identity: an ECDSA P-256 key pair made once, and a self-signed certificate over it
 * for TLS, desk to desk and to browsers. The desk id is a hash of the public key (as Syncthing's
 * device id is of its certificate), so no other key can ever answer to it: that is the pin.
 * The certificate can be issued anew (new addresses, expiry) without changing the id.
 */
export interface DeskCertificate {
  /** PEM, for TLS. */
  cert: string;
  key: string;
  /** The desk id: base32 of the first 20 bytes of SHA-256 over the public key. */
  deskId: string;
  /** SHA-256 over the certificate, as browsers show it: "AB:CD:…". */
  fingerprint: string;
}

const KEY_FILE = 'desk-key.pem';
const CERT_FILE = 'desk-cert.pem';
/** Apple refuses TLS certificates valid for more than 825 days, even ones a person trusted by hand. */
const VALID_DAYS = 825;
const RENEW_DAYS = 30;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return bits > 0 ? out + BASE32[(value << (5 - bits)) & 31] : out;
}

/** The desk id of whoever holds the key inside this certificate (DER or PEM). */
export function deskIdOf(cert: Buffer | string): string {
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return base32(createHash('sha256').update(spki).digest().subarray(0, 20));
}

export const DESK_ID = /^[a-z2-7]{32}$/;

/** SHA-256 of a certificate, upper-case hex in pairs, as browsers' certificate viewers show it. */
function fingerprintOf(cert: Buffer | string): string {
  return new X509Certificate(cert).fingerprint256;
}

/**
 * This machine's addresses on its networks, in the order the interfaces list them. Link-local
 * addresses change with every interface and no browser or desk is sent to them: left out.
 */
function networkAddresses() {
  return Object.values(networkInterfaces()).flatMap((list) => list ?? []).filter((a) => !a.internal && !a.address.startsWith('fe80'));
}

/** This machine's LAN addresses, IPv4 first: where other desks can reach it. */
export function lanAddresses(): string[] {
  const all = networkAddresses();
  return [...all.filter((a) => a.family === 'IPv4'), ...all.filter((a) => a.family !== 'IPv4')].map((a) => a.address).slice(0, 8);
}

/** The names and addresses this machine answers to now: what the certificate is issued for. */
function localNames(): { dns: string[]; ips: string[] } {
  const host = hostname().toLowerCase();
  const dns = ['localhost', ...(/^[a-z0-9.-]{1,253}$/.test(host) ? [host, `${host.split('.')[0]}.local`] : [])];
  const ips = ['127.0.0.1', '::1', ...networkAddresses().map((a) => a.address)];
  return { dns: [...new Set(dns)], ips: [...new Set(ips)] };
}

async function issue(keyPem: string, names: { dns: string[]; ips: string[] }, now = Date.now()): Promise<string> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' }), ALGORITHM, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', createPublicKey(keyPem).export({ type: 'spki', format: 'der' }), ALGORITHM, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=LAN Scheduler desk, O=LAN Scheduler',
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + VALID_DAYS * 86_400_000),
    signingAlgorithm: ALGORITHM,
    keys: { privateKey, publicKey } as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // serverAuth for browsers and the TLS server side, clientAuth for the desk that connects.
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  return cert.toString('pem');
}

async function newKeyPem(): Promise<string> {
  const pair = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey), 'PRIVATE KEY');
}

const readOptional = (file: string) =>
  readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });

/** Whether a certificate still serves: not near its end, issued for this key, and for every address this machine has now. */
function stillGood(certPem: string, keyPem: string, names: { dns: string[]; ips: string[] }): boolean {
  const cert = new X509Certificate(certPem);
  if (Date.parse(cert.validTo) - Date.now() < RENEW_DAYS * 86_400_000) return false;
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
  return names.ips.every((ip) => cert.checkIP(ip) !== undefined);
}

/**
 * This desk's key and certificate, kept in `dir` (the key readable by this user only). The key is
 * made once; the certificate is issued anew when it nears its end or the machine's addresses
 * changed, so browsers and calendar apps see a certificate for the address they typed.
 */
export async function loadOrCreateDeskCertificate(dir: string, log: Logger): Promise<DeskCertificate> {
  await mkdir(dir, { recursive: true });
  let key = await readOptional(join(dir, KEY_FILE));
  if (!key) {
    key = await newKeyPem();
    await writeFileAtomic(join(dir, KEY_FILE), key, { mode: 0o600 });
    log.info(`made this desk's key (${join(dir, KEY_FILE)})`);
  }
  const names = localNames();
  let cert = await readOptional(join(dir, CERT_FILE));
  if (!cert || !stillGood(cert, key, names)) {
    cert = await issue(key, names);
    await writeFileAtomic(join(dir, CERT_FILE), cert, { mode: 0o644 });
    log.info(`issued this desk's certificate for ${[...names.dns, ...names.ips].join(', ')}`);
  }
  return { cert, key, deskId: deskIdOf(cert), fingerprint: fingerprintOf(cert) };
}
