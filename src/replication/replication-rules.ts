/**
 * The replication rules in force: the configuration file's (read-only at run time) and those added
 * through the admin API (rules-store.ts), together deciding which tables go to which destination.
 *
 * Every process sharing the state database must follow rule changes made through any of them.
 * The rules are therefore re-read when the rule set's version moved, and the version is checked
 * (one primary-key read) before every shipper round and every reconciliation pass: a selection is
 * made with rules at most one round old. A change made in this process is applied at once.
 */
import type { Identifier } from '../catalog/identifiers.ts';
import type { Logger } from '../util/logger.ts';
import type { ConfiguredRule } from './destinations.ts';
import type { RulesStore, StoredRule } from './rules-store.ts';
import { TableSelector } from './table-selector.ts';

/** What the shipper asks of a destination's rules. */
export type Selector = Pick<TableSelector, 'selectsTable' | 'selectsNamespace'>;

/** A rule as the admin API lists it. */
export type ListedRule =
  | ({ id: string; source: 'config' } & ConfiguredRule)
  | ({ source: 'api' } & StoredRule);

export interface ReplicationRulesOptions {
  /** The destinations of this process. */
  destinations: readonly string[];
  /** The configuration file's rules (or the default rule). */
  configRules: readonly ConfiguredRule[];
  /** Where rules added at run time are kept; without it only the configuration's rules apply. */
  store?: RulesStore;
  logger: Logger;
}

export class ReplicationRules {
  readonly destinations: readonly string[];
  readonly configRules: readonly ConfiguredRule[];
  readonly store: RulesStore | undefined;
  readonly #logger: Logger;
  #version = -1;
  #changedAtMs = 0;
  #apiRules: StoredRule[] = [];
  #selectors = new Map<string, TableSelector>();
  #refreshing: Promise<void> | undefined;
  #failing = false;

  constructor(options: ReplicationRulesOptions) {
    this.destinations = options.destinations;
    this.configRules = options.configRules;
    this.store = options.store;
    this.#logger = options.logger;
    this.#compile();
  }

  /** The rule set's version this process last read (-1 before the first read). */
  get version(): number {
    return this.#version;
  }

  /** When a run-time rule was last created, changed or deleted (0: never, or not read yet). */
  get changedAtMs(): number {
    return this.#changedAtMs;
  }

  /** Every rule: the configuration's first (ids `config-1`, `config-2`... in file order), then the run-time ones. */
  list(): ListedRule[] {
    return [
      ...this.configRules.map((rule, i): ListedRule => ({ id: configRuleId(i), source: 'config', ...rule })),
      ...this.#apiRules.map((rule): ListedRule => ({ source: 'api', ...rule })),
    ];
  }

  /** A destination's selector, always answering with the rules in force at the time of the call. */
  selectorFor(destination: string): Selector {
    return {
      selectsTable: (namespace, name) => this.#selectors.get(destination)?.selectsTable(namespace, name) ?? false,
      selectsNamespace: (namespace) => this.#selectors.get(destination)?.selectsNamespace(namespace) ?? false,
    };
  }

  /** The destinations whose rules select the table now. */
  destinationsSelecting(id: Identifier): string[] {
    return this.destinations.filter((d) => this.#selectors.get(d)?.selectsTable(id.namespace, id.name));
  }

  /**
   * Re-reads the run-time rules if another process (or this one) changed them since the last read.
   * Concurrent callers share one read. A database that cannot be read leaves the rules as they
   * were (and is reported once until it answers again): the claim or pass that follows fails on
   * its own, and reconciliation catches up what older rules may have stepped over.
   */
  refresh(): Promise<void> {
    if (!this.store) return Promise.resolve();
    this.#refreshing ??= this.#refreshIfChanged().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Reads the run-time rules now, whatever the version (after a change this process made). */
  async reload(): Promise<void> {
    if (!this.store) return;
    this.#apply(await this.store.list());
  }

  async #refreshIfChanged(): Promise<void> {
    try {
      const { version } = await this.store!.version();
      if (version !== this.#version) this.#apply(await this.store!.list());
      if (this.#failing) this.#logger.info({}, 'replication rules can be read again');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.#logger.warn({ err: error }, 'could not read the replication rules; going on with the ones read last');
      this.#failing = true;
    }
  }

  #apply(read: { version: number; changedAtMs: number; rules: StoredRule[] }): void {
    // Two reads racing: the older one must not undo the newer.
    if (read.version < this.#version) return;
    const changed = this.#version >= 0 && read.version !== this.#version;
    this.#version = read.version;
    this.#changedAtMs = read.changedAtMs;
    this.#apiRules = read.rules;
    this.#compile();
    if (changed) {
      this.#logger.info({ version: read.version, apiRules: read.rules.length }, 'replication rules changed; following the new ones');
    }
  }

  #compile(): void {
    const all: ConfiguredRule[] = [...this.configRules, ...this.#apiRules];
    this.#selectors = new Map(this.destinations.map((d) => [d, new TableSelector(all.filter((r) => r.to === undefined || r.to.includes(d)))]));
  }
}

export function configRuleId(index: number): string {
  return `config-${index + 1}`;
}
