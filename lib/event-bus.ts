import { Duration } from 'aws-cdk-lib';
import { type Archive, EventBus as Bus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { EventPattern } from '../core/pattern';
import { toCdkPattern } from './event-pattern';

export interface EventBusProps {
  /** Events matching this pattern are archived for replay. */
  readonly archivePattern: EventPattern;
  /**
   * Days the archive keeps events; 0 keeps them forever.
   * @default 30
   */
  readonly archiveRetentionDays?: number;
}

/** The custom EventBridge bus every webhook event is published to, with an archive for replay. */
export class EventBus extends Construct {
  public readonly bus: Bus;
  public readonly archive: Archive;

  constructor(scope: Construct, id: string, props: EventBusProps) {
    super(scope, id);
    const days = props.archiveRetentionDays ?? 30;
    if (!Number.isInteger(days) || days < 0) {
      throw new Error(`${this.node.path}: archiveRetentionDays must be a non-negative integer, got ${days}`);
    }
    this.bus = new Bus(this, 'Bus');
    this.archive = this.bus.archive('Archive', {
      description: 'Every webhook event, for replay',
      eventPattern: toCdkPattern(props.archivePattern),
      retention: days === 0 ? undefined : Duration.days(days),
    });
  }
}
