import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { PROTOCOL_VERSION } from './keys.js';

/**
 * Proof of the join key, bound to one TLS connection. Both ends compute the same exported keying
 * material (RFC 5705/8446) from their handshake; an HMAC over it with the desk secret proves the
 * key without revealing it, and is worthless on any other connection: a replayed or relayed
 * proof fails, because a connection to anyone else exports other material.
 */
const EXPORTER_LABEL = 'EXPORTER-lan-scheduler-desk-proof';

export type Side = 'client' | 'server';

export interface Transcript {
  calendarId: string;
  clientId: string;
  serverId: string;
  /** The connection's exported keying material. */
  binding: Buffer;
}

export function channelBinding(socket: TLSSocket): Buffer {
  return socket.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0));
}

/** The proof one side sends: which side it is is part of it, so the other side's proof cannot be echoed back. */
export function proofOf(deskSecret: Buffer, side: Side, t: Transcript): string {
  return createHmac('sha256', deskSecret)
    .update(['lan-scheduler desk proof', String(PROTOCOL_VERSION), side, t.calendarId, t.clientId, t.serverId, t.binding.toString('hex')].join('\n'))
    .digest('base64url');
}

export function proofHolds(deskSecret: Buffer, side: Side, t: Transcript, proof: unknown): boolean {
  if (typeof proof !== 'string' || proof.length > 100) return false;
  const want = Buffer.from(proofOf(deskSecret, side, t));
  const given = Buffer.from(proof);
  return given.length === want.length && timingSafeEqual(given, want);
}
