/**
 * CloudWatch, locally: the one read the management API makes — `GetMetricData` of AWS/SQS
 * ApproximateAgeOfOldestMessage per queue (AWS JSON 1.0, `x-amz-target: GraniteServiceVersion20100801.*`) —
 * answered from the local SQS emulator's queues, as of now. Any other metric has no datapoints (as a metric nobody
 * publishes has none on AWS); any other operation is refused.
 */
import { createServer } from 'node:http';
import { closeServer, listenOnLoopback, readBody, sendAwsJsonError, sendJson } from '../net';

const JSON_10 = 'application/x-amz-json-1.0';

export interface LocalCloudWatch {
  readonly endpoint: string;
  stop(): Promise<void>;
}

interface MetricQuery {
  Id?: string;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] };
  };
}

export async function startLocalCloudWatch(options: {
  /** Seconds since the oldest message of a queue was sent, or null when it is empty or unknown. */
  readonly oldestMessageAge: (queueName: string) => number | null;
}): Promise<LocalCloudWatch> {
  const server = createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}') as {
        MetricDataQueries?: MetricQuery[];
      };
      if (target !== 'GraniteServiceVersion20100801.GetMetricData') {
        sendAwsJsonError(res, 400, 'InvalidAction', `${target} is not served locally`, JSON_10);
        return;
      }
      const now = Math.floor(Date.now() / 1000);
      const results = (body.MetricDataQueries ?? []).map((q) => {
        const metric = q.MetricStat?.Metric;
        const queue = metric?.Dimensions?.find((d) => d.Name === 'QueueName')?.Value;
        const age =
          metric?.Namespace === 'AWS/SQS' && metric.MetricName === 'ApproximateAgeOfOldestMessage' && queue
            ? options.oldestMessageAge(queue)
            : null;
        return {
          Id: q.Id,
          Label: metric?.MetricName,
          StatusCode: 'Complete',
          Timestamps: age === null ? [] : [now],
          Values: age === null ? [] : [age],
        };
      });
      sendJson(res, 200, { MetricDataResults: results, Messages: [] }, {}, JSON_10);
    })().catch((error: Error) => {
      if (!res.headersSent) sendAwsJsonError(res, 500, 'InternalServiceError', error.message, JSON_10);
    });
  });
  const port = await listenOnLoopback(server, 0, 'CloudWatch');
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => closeServer(server) };
}
