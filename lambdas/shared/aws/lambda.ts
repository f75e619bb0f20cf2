/**
 * Lambda, loaded with `import()` where it is called now and then: a delivery function pausing or resuming its queue,
 * the connections function handing a resume to its own asynchronous invoke. See ../clients.
 */
export {
  InvokeCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
