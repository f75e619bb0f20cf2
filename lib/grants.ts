/**
 * Grants of exactly the actions a function's code calls. The L2 `grant*` helpers of aws-cdk-lib grant families of
 * actions (`grantReadWriteData` includes Scan, BatchWrite, DescribeTable…); these name each action.
 */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';

export type TableAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:Query'
  | 'dynamodb:BatchGetItem';

/** The table's own items; `indexes` adds its index ARNs for functions that query an index. */
export function grantTable(
  grantee: IGrantable,
  table: ITable,
  actions: readonly TableAction[],
  options: { readonly indexes?: boolean } = {},
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [...actions],
      resources: [table.tableArn, ...(options.indexes ? [`${table.tableArn}/index/*`] : [])],
    }),
  );
}
