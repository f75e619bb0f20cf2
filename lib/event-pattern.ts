import type { EventPattern as CdkEventPattern } from 'aws-cdk-lib/aws-events';
import type { EventPattern } from '../core/pattern';

/**
 * A plain EventBridge pattern (JSON field names, as written in the router config) as the CDK `EventPattern` type.
 * CDK renders pattern keys verbatim (it only renames its own `detailType`), so `detail-type` and `$or` pass through
 * unchanged and the deployed rule is exactly the configured pattern.
 */
export function toCdkPattern(pattern: EventPattern): CdkEventPattern {
  return pattern as CdkEventPattern;
}
