/** SQS, loaded with `import()` on a delivery's failure paths (backoff, dead-letter queue): see ../clients. */
export { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
