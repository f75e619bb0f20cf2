/**
 * The management API as synthesized: IAM authorization on every `/v1` route, `GET /health` alone open, every route
 * integrated with the management function, and two managed policies that name exactly the routes a reader (every
 * GET) and an operator (every route) may invoke.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../core/management';
import { synthRouter } from '../support/cdk';

const { stack, template } = synthRouter();
// biome-ignore lint/suspicious/noExplicitAny: a template's properties are read field by field.
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const apiId = ofType('AWS::ApiGatewayV2::Api').find(([, a]) => a.Properties.ProtocolType === 'HTTP')![0];
const routes = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.ApiId.Ref === apiId);

/** `Fn::Join` of an execute-api ARN, with the API's id, account, region and partition as placeholders. */
function arnText(value: unknown): string {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1]
    .map((part) =>
      typeof part === 'string'
        ? part
        : 'Ref' in (part as object)
          ? `<${(part as { Ref: string }).Ref}>`
          : '?',
    )
    .join(join[0]);
}
const policyResources = (id: string) =>
  [resources[id]!.Properties.PolicyDocument.Statement]
    .flat()
    .flatMap((s: { Action: string; Resource: unknown }) => {
      expect(s.Action).toBe('execute-api:Invoke');
      return [s.Resource].flat().map(arnText);
    });
const expected = (filter: (r: (typeof ROUTES)[number]) => boolean) =>
  ROUTES.filter((r) => r.path.startsWith('/v1/') && filter(r))
    .map(
      (r) =>
        `arn:<AWS::Partition>:execute-api:eu-west-1:111111111111:<${apiId}>/$default/${r.method}${r.path.replace(/\{[^}]+\}/g, '*')}`,
    )
    .sort();

describe('the management API', () => {
  it('has a route per management route, IAM-authorized except GET /health', () => {
    const managementRoutes = routes.filter(([, r]) => r.Properties.RouteKey !== '$default');
    expect(managementRoutes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.path}`).sort(),
    );
    for (const [, route] of managementRoutes) {
      const key = route.Properties.RouteKey as string;
      if (key.includes(' /v1/')) expect(route.Properties.AuthorizationType, key).toBe('AWS_IAM');
      else {
        expect(key).toBe('GET /health');
        expect(route.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
      }
    }
  });

  it('integrates every route with the management function, which API Gateway may invoke', () => {
    const fnId = stack.getLogicalId(stack.management.managementFunction.function.node.defaultChild as never);
    const integrations = new Set(
      routes
        .filter(([, r]) => r.Properties.RouteKey !== '$default')
        .map(([, r]) => JSON.stringify(r.Properties.Target)),
    );
    expect(integrations.size).toBe(1);
    const integrationId = /"Ref":"([^"]+)"/.exec([...integrations][0]!)![1]!;
    expect(resources[integrationId]!.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
    });
  });

  it('exports a reader policy for every GET /v1 route, and an operator policy for every /v1 route', () => {
    const policies = ofType('AWS::IAM::ManagedPolicy');
    const reader = policies.find(([id]) => id.includes('ReaderPolicy'))![0];
    const operator = policies.find(([id]) => id.includes('OperatorPolicy'))![0];
    expect(policyResources(reader).sort()).toEqual(expected((r) => r.method === 'GET'));
    expect(policyResources(operator).sort()).toEqual(expected(() => true));
    expect(expected((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(7);
    // Reads only for the reader: no POST route is in it.
    expect(policyResources(reader).some((r) => r.includes('/POST/'))).toBe(false);
    const outputs = template.findOutputs('*');
    expect(outputs.ManagementReaderPolicy!.Value).toEqual({ Ref: reader });
    expect(outputs.ManagementOperatorPolicy!.Value).toEqual({ Ref: operator });
    expect(outputs.ManagementApiUrl).toBeDefined();
  });

  it('signs cursors with a generated secret that only the management function reads', () => {
    const secretId = stack.getLogicalId(stack.management.cursorKey.node.defaultChild as never);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const readers = ofType('AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes(`"Ref":"${secretId}"`),
    );
    expect(readers).toHaveLength(1);
    expect(readers[0]![0]).toMatch(/^ManagementFunctionRole/);
  });

  it('lets the function invoke itself (a job’s next chunk) without a dependency cycle', () => {
    const fnId = stack.getLogicalId(stack.management.managementFunction.function.node.defaultChild as never);
    const own = ofType('AWS::IAM::Policy').filter(([id]) => id.startsWith('ManagementFunctionOwnFunction'));
    expect(own).toHaveLength(1);
    expect(own[0]![1].Properties.PolicyDocument.Statement).toEqual([
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } },
    ]);
  });
});
