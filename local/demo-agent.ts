/**
 * Sample agent endpoint for `npm start -- --demo`: receives deliveries on 127.0.0.1, verifies their Standard
 * Webhooks signature with the `standardwebhooks` library, logs each one and answers 204 (401 when the signature
 * is wrong).
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { closeServer, LOOPBACK, listenOnLoopback, readBody } from './net';

export interface DemoDelivery {
  readonly id: string;
  readonly verified: boolean;
  readonly payload: unknown;
  readonly headers: Record<string, string>;
}

export interface DemoAgent {
  readonly url: string;
  readonly port: number;
  readonly deliveries: DemoDelivery[];
  stop(): Promise<void>;
}

export async function startDemoAgent(options: {
  /** Standard Webhooks secret (`whsec_…`) of the target. */
  readonly secret: string;
  readonly port?: number;
  readonly log?: (message: string) => void;
}): Promise<DemoAgent> {
  const log = options.log ?? ((m: string) => console.log(m));
  const webhook = new Webhook(options.secret);
  const deliveries: DemoDelivery[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = (await readBody(req, 10 * 1024 * 1024)).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      let payload: unknown;
      let verified = false;
      try {
        payload = webhook.verify(body, headers);
        verified = true;
      } catch {
        payload = undefined;
      }
      const id = headers['webhook-id'] ?? '?';
      deliveries.push({ id, verified, payload, headers });
      const envelope = payload as { type?: string; subject?: string | null; source?: string } | undefined;
      log(
        verified
          ? `[demo-agent] delivery ${id}: ${envelope?.source}/${envelope?.type} ${envelope?.subject ?? ''} (signature OK)`
          : `[demo-agent] delivery ${id}: REJECTED, bad Standard Webhooks signature`,
      );
      res.writeHead(verified ? 204 : 401).end();
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const port = await listenOnLoopback(server, options.port ?? 0, 'demo agent');
  return { url: `http://${LOOPBACK}:${port}/webhooks`, port, deliveries, stop: () => closeServer(server) };
}
