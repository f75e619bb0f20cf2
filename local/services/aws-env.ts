/**
 * How local handlers reach local services: only through environment variables, the way SDK v3 clients created
 * with default config pick them up (`AWS_ENDPOINT_URL_<SERVICE_ID>`; verified for DYNAMODB, SQS, EVENTBRIDGE,
 * SECRETS_MANAGER and S3 with the SDK versions in package-lock.json).
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly eventbridge: string;
  readonly secretsManager: string;
  readonly s3: string;
  readonly lambda: string;
  readonly apigatewayv2: string;
  readonly cloudwatch: string;
}

/** The AWS part of every local function's environment. */
export function awsEnvironment(
  endpoints: LocalEndpoints,
  functionName: string,
  memoryMb = 512,
): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
    AWS_ENDPOINT_URL_APIGATEWAYV2: endpoints.apigatewayv2,
    AWS_ENDPOINT_URL_CLOUDWATCH: endpoints.cloudwatch,
    // Keeps SDK clients from looking for ~/.aws config or instance metadata.
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
  };
}
