/**
 * Fault switches for the local services: a test (or an operator trying things out) turns a service's failures on
 * and off while the stack runs, and each emulator consults the switch on every call it serves. Used by the fault
 * tier (test/faults/) to prove that nothing accepted is lost under outages and throttling.
 */

/** The local services that can be made to fail. */
export const FAULT_SERVICES = ['dynamodb', 'sqs', 's3', 'eventbridge', 'secretsmanager'] as const;
export type FaultService = (typeof FAULT_SERVICES)[number];

export interface Fault {
  /** HTTP status of the failed call, e.g. 400 for throttling on the JSON protocols, 500/503 for outages. */
  readonly status: number;
  /** The AWS error code the SDK surfaces as the error's name, e.g. `ThrottlingException`, `ServiceUnavailable`. */
  readonly code: string;
  /** @default the code */
  readonly message?: string;
  /** Operations that fail (e.g. `PutEvents`, `PutItem`); all of the service's operations when absent. */
  readonly operations?: readonly string[];
  /** Fraction of matching calls that fail, 0-1. @default 1 */
  readonly rate?: number;
}

export class FaultSwitch {
  private readonly faults = new Map<FaultService, Fault>();
  private readonly listeners = new Set<(service: FaultService, fault: Fault | undefined) => void>();
  /** Calls failed so far, per service (for test reports). */
  readonly failedCalls = new Map<FaultService, number>();

  set(service: FaultService, fault: Fault): void {
    if (fault.rate !== undefined && (fault.rate < 0 || fault.rate > 1))
      throw new Error(`fault rate must be within 0-1, got ${fault.rate}`);
    this.faults.set(service, fault);
    for (const listener of this.listeners) listener(service, fault);
  }

  /** Clears one service's fault, or every fault. */
  clear(service?: FaultService): void {
    for (const s of service ? [service] : [...this.faults.keys()]) {
      this.faults.delete(s);
      for (const listener of this.listeners) listener(s, undefined);
    }
  }

  /** Called on every change: for emulators that check faults elsewhere (dynalite in its own thread). */
  subscribe(listener: (service: FaultService, fault: Fault | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The fault currently set for a service. */
  get(service: FaultService): Fault | undefined {
    return this.faults.get(service);
  }

  /** The fault this call must answer with, if any (counts it). */
  check(service: FaultService, operation: string): Fault | undefined {
    const fault = this.faults.get(service);
    if (!fault) return undefined;
    if (fault.operations && !fault.operations.includes(operation)) return undefined;
    if (fault.rate !== undefined && Math.random() >= fault.rate) return undefined;
    this.failedCalls.set(service, (this.failedCalls.get(service) ?? 0) + 1);
    return fault;
  }
}
