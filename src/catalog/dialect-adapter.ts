/**
 * The few places where SQLite and Postgres differ, behind capability flags and small functions,
 * so queries elsewhere stay dialect-free.
 */
export interface DialectAdapter {
  readonly name: 'sqlite' | 'postgres';
  /** True when `error` is a primary-key / unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
}

export const sqliteAdapter: DialectAdapter = {
  name: 'sqlite',
  isUniqueViolation: (error) =>
    typeof error === 'object' && error !== null && String((error as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT'),
};

export const postgresAdapter: DialectAdapter = {
  name: 'postgres',
  // 23505 = unique_violation
  isUniqueViolation: (error) => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505',
};
