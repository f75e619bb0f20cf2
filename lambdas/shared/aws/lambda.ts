/** Lambda, loaded with `import()` when a delivery function pauses or resumes its queue: see ../clients. */
export {
  LambdaClient,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
