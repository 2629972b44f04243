/**
 * Which tables (and namespaces) a destination replicates, from the rules of the configuration:
 * patterns over the dotted name `ns.table` (`a.b.table` for nested namespaces), where `*` matches
 * within one level, `**` any number of levels (also none), and any other character itself.
 * `exclude` patterns win over `tables` patterns of the same rule; a table is selected when any
 * rule selects it.
 */

export interface SelectionRule {
  tables: readonly string[];
  exclude: readonly string[];
}

/** Every table, every namespace. */
export const EVERYTHING: readonly SelectionRule[] = [{ tables: ['**'], exclude: [] }];

type Segment = { kind: 'any-levels' } | { kind: 'level'; pattern: RegExp };

function compile(pattern: string): Segment[] {
  return pattern.split('.').map((part) => {
    if (part === '**') return { kind: 'any-levels' };
    const body = part.split('*').map((s) => s.replace(/[\\^$+?.()|[\]{}]/g, '\\$&')).join('[^]*');
    return { kind: 'level', pattern: new RegExp(`^${body}$`, 'u') };
  });
}

/** Whether the segments match all of `levels` (`prefixOnly`: match the first levels.length only). */
function matches(segments: Segment[], levels: readonly string[], prefixOnly = false): boolean {
  const go = (si: number, li: number): boolean => {
    if (li === levels.length) {
      // Names end here: the rest of the pattern must be able to match nothing, or (prefixOnly)
      // something still to come under this namespace.
      return prefixOnly ? si < segments.length : segments.slice(si).every((s) => s.kind === 'any-levels');
    }
    if (si === segments.length) return false;
    const segment = segments[si]!;
    if (segment.kind === 'any-levels') return go(si + 1, li) || go(si, li + 1);
    return segment.pattern.test(levels[li]!) && go(si + 1, li + 1);
  };
  return go(0, 0);
}

export class TableSelector {
  private readonly rules: { tables: Segment[][]; exclude: Segment[][] }[];

  constructor(rules: readonly SelectionRule[]) {
    this.rules = rules.map((r) => ({ tables: r.tables.map(compile), exclude: r.exclude.map(compile) }));
  }

  /** Whether table `name` of `namespace` is replicated. */
  selectsTable(namespace: readonly string[], name: string): boolean {
    const levels = [...namespace, name];
    return this.rules.some((r) => r.tables.some((t) => matches(t, levels)) && !r.exclude.some((e) => matches(e, levels)));
  }

  /**
   * Whether a namespace is replicated (created, its properties copied): when some rule could
   * select a table under it. Excludes do not remove namespaces (an excluded table's namespace may
   * hold selected ones).
   */
  selectsNamespace(namespace: readonly string[]): boolean {
    return this.rules.some((r) => r.tables.some((t) => matches(t, namespace, true)));
  }
}
