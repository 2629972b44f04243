/** Table patterns of replication rules: levels, `*` within a level, `**` across levels, excludes. */
import { describe, expect, it } from 'vitest';
import { TableSelector } from '../../src/replication/table-selector.ts';

const select = (tables: string[], exclude: string[] = []) => new TableSelector([{ tables, exclude }]);

describe('TableSelector', () => {
  it('matches names level by level', () => {
    const s = select(['sales.orders', 'ops.*', 'a.**.t']);
    expect(s.selectsTable(['sales'], 'orders')).toBe(true);
    expect(s.selectsTable(['sales'], 'orders2')).toBe(false);
    expect(s.selectsTable(['ops'], 'anything')).toBe(true);
    expect(s.selectsTable(['ops', 'nested'], 'x')).toBe(false); // * stays within one level
    expect(s.selectsTable(['a'], 't')).toBe(true); // ** may match no level
    expect(s.selectsTable(['a', 'b', 'c'], 't')).toBe(true);
    expect(s.selectsTable(['a', 'b'], 'u')).toBe(false);
  });

  it('treats pattern characters other than * literally, and names with dots as one level', () => {
    const s = select(['db.t?x', 'x.t*']);
    expect(s.selectsTable(['db'], 't?x')).toBe(true);
    expect(s.selectsTable(['db'], 'tax')).toBe(false);
    expect(s.selectsTable(['x'], 't.with.dots')).toBe(true);
  });

  it('lets excludes win within a rule, while another rule can still select', () => {
    const s = new TableSelector([
      { tables: ['sales.*'], exclude: ['sales.tmp_*'] },
      { tables: ['sales.tmp_keep'], exclude: [] },
    ]);
    expect(s.selectsTable(['sales'], 'orders')).toBe(true);
    expect(s.selectsTable(['sales'], 'tmp_x')).toBe(false);
    expect(s.selectsTable(['sales'], 'tmp_keep')).toBe(true);
  });

  it('selects a namespace when a rule could select a table under it', () => {
    const s = select(['sales.orders', 'ops.**']);
    expect(s.selectsNamespace(['sales'])).toBe(true);
    expect(s.selectsNamespace(['ops'])).toBe(true);
    expect(s.selectsNamespace(['ops', 'deep', 'er'])).toBe(true);
    expect(s.selectsNamespace(['hr'])).toBe(false);
    expect(s.selectsNamespace(['sales', 'orders'])).toBe(false); // that is the table, not a namespace
    expect(select(['**']).selectsNamespace(['anything'])).toBe(true);
  });
});
