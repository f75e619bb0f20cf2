/**
 * SQS, loaded with `import()` where it is needed now and then: a delivery's failure paths (backoff, dead-letter
 * queue) and the ordered targets' FIFO queues (see ../clients).
 */
export {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
