/**
 * Opaque, tamper-proof paging cursors: the position (and the filters it belongs to) as base64url JSON, with an
 * HMAC-SHA256 over it under a key only the management function reads (a generated secret). A cursor edited by hand,
 * or reused with other filters, is refused with 400.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiProblem } from './problem';

export interface CursorCodec {
  encode(position: Record<string, unknown>, scope: string): Promise<string>;
  /** The position, or a 400 when the cursor was altered or belongs to other filters. */
  decode(cursor: string, scope: string): Promise<Record<string, unknown>>;
}

export function cursorCodec(key: () => Promise<Buffer>): CursorCodec {
  const mac = async (payload: string) =>
    createHmac('sha256', await key())
      .update(payload)
      .digest();
  return {
    async encode(position, scope) {
      const payload = Buffer.from(JSON.stringify({ p: position, s: scope })).toString('base64url');
      return `${payload}.${(await mac(payload)).toString('base64url')}`;
    },
    async decode(cursor, scope) {
      const [payload, signature, extra] = cursor.split('.');
      if (!payload || !signature || extra !== undefined)
        throw new ApiProblem(400, 'cursor: not a cursor of this API', [
          { path: 'cursor', message: 'not a cursor of this API' },
        ]);
      const expected = await mac(payload);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new ApiProblem(400, 'cursor: altered or from another stack', [
          { path: 'cursor', message: 'altered or from another stack' },
        ]);
      const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        p: unknown;
        s: unknown;
      };
      if (decoded.s !== scope)
        throw new ApiProblem(400, 'cursor: belongs to other filters', [
          { path: 'cursor', message: 'belongs to other filters; start again without it' },
        ]);
      return decoded.p as Record<string, unknown>;
    },
  };
}
