import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../../core/metrics';

/** One logger and one metrics instance per function (service name from POWERTOOLS_SERVICE_NAME). */
export const logger = new Logger();
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
