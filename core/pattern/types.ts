/** Compiled form of a pattern: what the matcher and the index walk. Internal to core/pattern. */

export type Scalar = string | number | boolean | null;

/** One operator applied to one leaf value of the event (a scalar; arrays are flattened first). */
export type ValuePredicate = (value: Scalar) => boolean;

/** The match values listed for one field: the field matches when any of them matches any leaf value. */
export interface LeafTest {
  /** `{"exists": true}` listed: any leaf value at all matches. */
  readonly existsTrue: boolean;
  /** `{"exists": false}` listed: the field matches when there is no leaf value (absent, object, empty array). */
  readonly existsFalse: boolean;
  readonly strings: ReadonlySet<string> | null;
  readonly numbers: ReadonlySet<number> | null;
  readonly matchNull: boolean;
  readonly matchTrue: boolean;
  readonly matchFalse: boolean;
  /** Hex forms of exact values that are IP literals (Event Ruler compares those as addresses). */
  readonly ips: ReadonlySet<string> | null;
  readonly predicates: readonly ValuePredicate[];
  /** When the leaf can only match through exact values and case-sensitive prefixes: their index keys. */
  readonly indexKeys: readonly string[] | null;
  readonly indexPrefixes: readonly string[];
}

export interface FieldTest {
  readonly key: string;
  readonly leaf: LeafTest | null;
  readonly node: NodeTest | null;
}

/** An object-level AND of field tests. */
export interface NodeTest {
  readonly fields: readonly FieldTest[];
  /** Whether the node is satisfied when the event has no object here (every field accepts absence). */
  readonly acceptsAbsent: boolean;
}

/** Index key of a scalar: type tag + value, so `"5"` and `5` never collide. */
export function scalarKey(value: Scalar): string {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return `n${value}`;
    case 'boolean':
      return value ? 't' : 'f';
    default:
      return 'z';
  }
}
