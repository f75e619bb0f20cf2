/**
 * An EventBridge schedule that invokes a function asynchronously, locally. As on AWS:
 * - each tick is an asynchronous invoke, queued while the function is busy;
 * - a queued invoke that waited longer than `maxEventAgeSeconds` is dropped (Lambda discards aged-out events);
 * - a failed run is retried `asyncRetryAttempts` times (Lambda's asynchronous retries; the plan says 0).
 * EventBridge's own retries (`retryAttempts`) cover failures to hand the event to Lambda, which cannot happen
 * locally; the setting is kept so the running topology can be described.
 */
export interface ScheduledFunction {
  invoke(event: unknown): Promise<unknown>;
}

export interface LocalScheduleOptions {
  readonly function: ScheduledFunction;
  readonly event: unknown;
  readonly retryAttempts: number;
  readonly asyncRetryAttempts: number;
  readonly maxEventAgeSeconds: number;
  readonly onError?: (error: Error) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

export class LocalSchedule {
  private running: Promise<void> = Promise.resolve();
  /** Runs dropped because they waited longer than the maximum event age. */
  dropped = 0;

  constructor(private readonly options: LocalScheduleOptions) {}

  /** A direct, synchronous invoke (what `aws lambda invoke` does): its result, or its error. */
  runNow(): Promise<unknown> {
    return this.options.function.invoke(this.options.event);
  }

  /** One scheduled (asynchronous) invoke: queued behind a running one, dropped when too old, retried on failure. */
  tick(): Promise<void> {
    const now = this.options.now ?? Date.now;
    const queuedAt = now();
    const run = async () => {
      if (now() - queuedAt > this.options.maxEventAgeSeconds * 1000) {
        this.dropped++;
        return;
      }
      for (let attempt = 0; attempt <= this.options.asyncRetryAttempts; attempt++) {
        try {
          await this.runNow();
          return;
        } catch (error) {
          if (attempt === this.options.asyncRetryAttempts) this.options.onError?.(error as Error);
        }
      }
    };
    this.running = this.running.then(run);
    return this.running;
  }

  /** Ticks now and every `intervalSeconds`; returns the function that stops it. */
  start(intervalSeconds: number): () => Promise<void> {
    void this.tick();
    const timer = setInterval(() => void this.tick(), intervalSeconds * 1000);
    timer.unref();
    return async () => clearInterval(timer);
  }

  describe() {
    const { retryAttempts, asyncRetryAttempts, maxEventAgeSeconds } = this.options;
    return { retryAttempts, asyncRetryAttempts, maxEventAgeSeconds };
  }
}
