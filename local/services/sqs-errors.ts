/**
 * SQS errors as the service sends them on the AWS JSON protocol, and as SDK v3 clients surface them.
 *
 * Wire form (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html):
 * status 4xx/5xx, header `x-amzn-query-error: <query code>;Sender|Receiver`, body
 * `{"__type":"com.amazonaws.sqs#<Shape>","message":"…"}`. The SDK's client is "awsQueryCompatible": it reads the
 * query code from that header first and maps it back to the modelled shape whose `awsQueryError` trait carries it
 * (`AWS.SimpleQueueService.NonExistentQueue` → QueueDoesNotExist), so `error.name` is the shape name and
 * `error.Code` the query code. Codes the model does not know (InvalidParameterValue, MissingParameter, …) become
 * the generic SQSServiceException named after the code.
 */

/** Query codes and HTTP statuses of the modelled errors (the `awsQueryError` traits of @aws-sdk/client-sqs). */
const MODELLED: Readonly<Record<string, readonly [queryCode: string, status: number]>> = {
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  InvalidAddress: ['InvalidAddress', 404],
  InvalidAttributeName: ['InvalidAttributeName', 400],
  InvalidAttributeValue: ['InvalidAttributeValue', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  InvalidMessageContents: ['InvalidMessageContents', 400],
  InvalidSecurity: ['InvalidSecurity', 403],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  OverLimit: ['OverLimit', 403],
  PurgeQueueInProgress: ['AWS.SimpleQueueService.PurgeQueueInProgress', 403],
  QueueDeletedRecently: ['AWS.SimpleQueueService.QueueDeletedRecently', 400],
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  QueueNameExists: ['QueueAlreadyExists', 400],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  RequestThrottled: ['RequestThrottled', 403],
  ResourceNotFoundException: ['ResourceNotFoundException', 404],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
};

/** Shape names by query code, for fault switches given either form (`QueueAlreadyExists` → QueueNameExists). */
const SHAPE_BY_QUERY_CODE = new Map(Object.entries(MODELLED).map(([shape, [code]]) => [code, shape]));

export class SqsError extends Error {
  /** The modelled shape name (the SDK's `error.name`), or the bare code for unmodelled errors. */
  readonly type: string;
  /** What `x-amzn-query-error` carries (the SDK's `error.Code`). */
  readonly queryCode: string;
  readonly status: number;

  constructor(code: string, message: string, status?: number) {
    super(message);
    const type = SHAPE_BY_QUERY_CODE.get(code) ?? code;
    const modelled = MODELLED[type];
    this.name = 'SqsError';
    this.type = type;
    this.queryCode = modelled?.[0] ?? code;
    this.status = status ?? modelled?.[1] ?? 400;
  }

  get senderFault(): boolean {
    return this.status < 500;
  }
}

/** InvalidParameterValue, as SQS words it for a bad parameter: `Value x for parameter P is invalid. Reason: …`. */
export function invalidParameter(name: string, value: unknown, reason: string): SqsError {
  return new SqsError(
    'InvalidParameterValue',
    `Value ${typeof value === 'string' ? value : JSON.stringify(value)} for parameter ${name} is invalid. Reason: ${reason}`,
  );
}

export function invalidValue(message: string): SqsError {
  return new SqsError('InvalidParameterValue', message);
}

export function missingParameter(name: string): SqsError {
  return new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
}

export function queueDoesNotExist(): SqsError {
  return new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
}

export function receiptHandleIsInvalid(handle: string): SqsError {
  return new SqsError(
    'ReceiptHandleIsInvalid',
    `The input receipt handle "${handle}" is not a valid receipt handle.`,
  );
}

/** A batch entry's failure, as it appears in `Failed` of the *Batch actions. */
export interface BatchResultErrorEntry {
  readonly Id: string;
  readonly SenderFault: boolean;
  readonly Code: string;
  readonly Message: string;
}

export function batchFailure(id: string, error: SqsError): BatchResultErrorEntry {
  return { Id: id, SenderFault: error.senderFault, Code: error.queryCode, Message: error.message };
}

/**
 * The error an SDK v3 SQSClient would throw for this SqsError: `name` = shape (or code), `Code` = query code,
 * `$fault`, `$metadata.httpStatusCode`. Used by the in-process sender so callers see the same objects either way.
 */
export function toSdkError(error: SqsError): Error {
  const out = new Error(error.message) as Error & Record<string, unknown>;
  out.name = error.type;
  out.Code = error.queryCode;
  out.Type = error.senderFault ? 'Sender' : 'Receiver';
  out.$fault = error.senderFault ? 'client' : 'server';
  out.$metadata = { httpStatusCode: error.status, attempts: 1, totalRetryDelay: 0 };
  return out;
}
