"""The checks of one replicated table: the replica (loaded from /replicas/<name>) against the source
(loaded through the proxy), and a walker over the files the replica's current metadata references.
Each check raises AssertionError listing what differs, or returns a one-line summary."""

from __future__ import annotations

import urllib.parse
from collections import Counter

import pyarrow.parquet as pq
from pyiceberg.avro.file import AvroFile
from pyiceberg.manifest import (
    MANIFEST_ENTRY_SCHEMAS,
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestEntry,
    ManifestEntryStatus,
    _inherit_from_manifest,
    read_manifest_list,
)
from pyiceberg.table.puffin import PuffinFile

import engines
from context import REPLICA, SOURCE, Case, Context, describe_state
from steprunner import Skip

MAX_LISTED = 12  # problems quoted in a failure message


def fail_with(problems: list[str], what: str) -> None:
    if problems:
        more = f"\n    ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise AssertionError(f"{len(problems)} {what}: " + problems[0] + "\n    " +
                             "\n    ".join(problems[1:MAX_LISTED]) + more)


# --- reading ----------------------------------------------------------------------------------------

def pyiceberg_rows(table, snapshot_id: int | None) -> list[tuple]:
    scan = table.scan(snapshot_id=snapshot_id) if snapshot_id is not None else table.scan()
    return engines.sorted_rows(tuple(r.values()) for r in scan.to_arrow().to_pylist())


def spark_rows(ctx: Context, catalog: str, ident: tuple[str, ...], snapshot_id: int) -> list[tuple]:
    name = ctx.spark_name(catalog, ident)
    return engines.sorted_rows(tuple(r) for r in ctx.sql(f"SELECT * FROM {name} VERSION AS OF {snapshot_id}").collect())


def snapshot_dump(snapshot) -> dict:
    """A snapshot's fields except its manifest list (whose location the replica maps)."""
    return snapshot.model_dump(by_alias=True, mode="json", exclude={"manifest_list"})


def record_history(ctx: Context, case: Case) -> None:
    """Before the source expires snapshots: every snapshot, its snapshot-log entries and rows."""
    t = ctx.source.load_table(case.source)
    for s in t.snapshots():
        case.expired[s.snapshot_id] = snapshot_dump(s)
        rows = {"pyiceberg": pyiceberg_rows(t, s.snapshot_id)}
        if case.spark_rows:
            rows["spark"] = spark_rows(ctx, SOURCE, case.source, s.snapshot_id)
        case.recorded_rows[s.snapshot_id] = rows
    case.expired_log = [(e.snapshot_id, e.timestamp_ms) for e in t.metadata.snapshot_log]
    print(f"  recorded {len(case.expired)} snapshots and their rows of {'.'.join(case.source)}", flush=True)


def read_entries(io, manifest) -> list[ManifestEntry]:
    """Every entry of a manifest (deleted ones too), read with the v3 schema so that
    first_row_id, referenced_data_file, content_offset and content_size_in_bytes are there."""
    with AvroFile[ManifestEntry](
        io.new_input(manifest.manifest_path),
        MANIFEST_ENTRY_SCHEMAS[3],
        read_types={-1: ManifestEntry, 2: DataFile},
        read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
    ) as reader:
        return [_inherit_from_manifest(e, manifest) for e in reader]


def v3_fields(df: DataFile) -> tuple:
    """(first_row_id, referenced_data_file, content_offset, content_size_in_bytes)."""
    return tuple(df[i] if len(df) > i else None for i in (16, 17, 18, 19))


class Files:
    """Existence and size of files through a table's FileIO, cached; manifest lists and entries cached."""

    def __init__(self, io):
        self.io = io
        self._sizes: dict[str, int | None] = {}
        self._lists: dict[str, list] = {}
        self._entries: dict[str, list] = {}

    def size(self, path: str) -> int | None:
        if path not in self._sizes:
            inp = self.io.new_input(path)
            self._sizes[path] = len(inp) if inp.exists() else None
        return self._sizes[path]

    def manifests(self, manifest_list: str) -> list:
        if manifest_list not in self._lists:
            self._lists[manifest_list] = list(read_manifest_list(self.io.new_input(manifest_list)))
        return self._lists[manifest_list]

    def entries(self, manifest) -> list[ManifestEntry]:
        if manifest.manifest_path not in self._entries:
            self._entries[manifest.manifest_path] = read_entries(self.io, manifest)
        return self._entries[manifest.manifest_path]


# --- the checks -----------------------------------------------------------------------------------

class TableChecks:
    def __init__(self, ctx: Context, case: Case):
        self.ctx = ctx
        self.case = case
        self.rep_ident = ctx.replica_ident(case.source)
        self.src = ctx.source.load_table(case.source)
        self.rep = ctx.replica.load_table(self.rep_ident)
        self.src_files = Files(self.src.io)
        self.rep_files = Files(self.rep.io)
        self._walk: dict | None = None

    # metadata ----------------------------------------------------------------------------------

    def metadata(self) -> str:
        s, r = self.src.metadata, self.rep.metadata
        fields = ["format_version", "current_snapshot_id", "current_schema_id", "default_spec_id",
                  "default_sort_order_id", "last_column_id", "last_partition_id", "last_sequence_number",
                  "next_row_id", "properties"]
        problems = []
        if str(s.table_uuid) != str(r.table_uuid):
            problems.append(f"table-uuid: source {s.table_uuid}, replica {r.table_uuid}")
        for f in fields:
            sv, rv = getattr(s, f, None), getattr(r, f, None)
            if sv != rv:
                problems.append(f"{f}: source {sv!r}, replica {rv!r}")
        for kind in ("statistics", "partition_statistics"):
            src_stats = {st.snapshot_id: self._stat_key(st, s.location) for st in getattr(s, kind)}
            rep_stats = {st.snapshot_id: self._stat_key(st, r.location) for st in getattr(r, kind)}
            for sid, key in src_stats.items():
                if rep_stats.get(sid) != key:
                    problems.append(f"{kind} of snapshot {sid}: source {key}, replica {rep_stats.get(sid)}")
            for sid in set(rep_stats) - set(src_stats):
                if s.snapshot_by_id(sid) is not None:
                    problems.append(f"{kind} of snapshot {sid}: only in the replica")
        fail_with(problems, "differences")
        return f"uuid {r.table_uuid}, v{r.format_version}, current snapshot {r.current_snapshot_id}"

    @staticmethod
    def _stat_key(st, location: str) -> tuple:
        d = st.model_dump(by_alias=True, mode="json")
        d["statistics-path"] = relative(d["statistics-path"], location)
        return tuple(sorted((k, repr(v)) for k, v in d.items()))

    def load_config(self) -> str:
        """With the replica on S3: its load results name the replica's S3 endpoint."""
        want = self.ctx.args.replica_s3_endpoint or self.ctx.args.s3_endpoint
        base = self.ctx.args.replica_url
        status, config = self.ctx.http_json(base + "/v1/config")
        prefix = ((config or {}).get("overrides") or {}).get("prefix") if isinstance(config, dict) else None
        ns = urllib.parse.quote("\x1f".join(self.rep_ident[:-1]), safe="")
        path = f"/v1/{urllib.parse.quote(prefix, safe='') + '/' if prefix else ''}namespaces/{ns}/tables/" \
               f"{urllib.parse.quote(self.rep_ident[-1], safe='')}"
        status, body = self.ctx.http_json(base + path)
        if status != 200 or not isinstance(body, dict):
            raise AssertionError(f"GET {path} answered {status}: {str(body)[:300]}")
        got = (body.get("config") or {}).get("s3.endpoint")
        if want and got != want:
            raise AssertionError(f"load result config s3.endpoint is {got!r}, expected {want!r}")
        return f"s3.endpoint {got}"

    def snapshots(self) -> str:
        s, r = self.src.metadata, self.rep.metadata
        expected = dict(self.case.expired)
        expected.update({x.snapshot_id: snapshot_dump(x) for x in s.snapshots})
        actual = {x.snapshot_id: snapshot_dump(x) for x in r.snapshots}
        problems = [f"snapshot {i} missing from the replica ({'expired at the source' if i not in {x.snapshot_id for x in s.snapshots} else 'in the source'})"
                    for i in expected if i not in actual]
        problems += [f"snapshot {i} only in the replica" for i in actual if i not in expected]
        for i in expected.keys() & actual.keys():
            diff = {k: (expected[i].get(k), actual[i].get(k)) for k in expected[i].keys() | actual[i].keys()
                    if expected[i].get(k) != actual[i].get(k)}
            if diff:
                problems.append(f"snapshot {i}: " + "; ".join(f"{k}: source {a!r}, replica {b!r}" for k, (a, b) in sorted(diff.items())))
        log = {(e.snapshot_id, e.timestamp_ms) for e in r.snapshot_log}
        wanted_log = {(e.snapshot_id, e.timestamp_ms) for e in s.snapshot_log} | set(self.case.expired_log)
        problems += [f"snapshot-log entry {e} missing from the replica" for e in sorted(wanted_log - log)]
        fail_with(problems, "differences")
        kept = len(set(self.case.expired) - {x.snapshot_id for x in s.snapshots})
        return f"{len(actual)} snapshots" + (f", {kept} of them expired at the source" if kept else "")

    def refs(self) -> str:
        s = {k: v.model_dump(by_alias=True, mode="json") for k, v in self.src.metadata.refs.items()}
        r = {k: v.model_dump(by_alias=True, mode="json") for k, v in self.rep.metadata.refs.items()}
        problems = [f"ref {k}: source {s.get(k)}, replica {r.get(k)}" for k in sorted(s.keys() | r.keys()) if s.get(k) != r.get(k)]
        fail_with(problems, "differences")
        return ", ".join(f"{k}={v['type']}:{v['snapshot-id']}" for k, v in sorted(r.items()))

    def schemas_specs_orders(self) -> str:
        s, r = self.src.metadata, self.rep.metadata
        problems = []
        for what, attr, key in (("schema", "schemas", "schema_id"), ("partition spec", "partition_specs", "spec_id"),
                                ("sort order", "sort_orders", "order_id")):
            sd = {getattr(x, key): x.model_dump(by_alias=True, mode="json") for x in getattr(s, attr)}
            rd = {getattr(x, key): x.model_dump(by_alias=True, mode="json") for x in getattr(r, attr)}
            for i in sorted(sd.keys() | rd.keys()):
                if sd.get(i) != rd.get(i):
                    problems.append(f"{what} {i}: source {sd.get(i)}, replica {rd.get(i)}")
        fail_with(problems, "differences")
        return f"{len(r.schemas)} schemas, {len(r.partition_specs)} specs, {len(r.sort_orders)} sort orders"

    # manifests -----------------------------------------------------------------------------------

    def manifests(self) -> str:
        """Per snapshot both sides have: the same manifests (relative path, content, counts, sequence
        numbers) holding the same entries (relative paths, sizes, counts, stats, v3 fields)."""
        s, r = self.src.metadata, self.rep.metadata
        problems = []
        compared = 0
        for snap in s.snapshots:
            rep_snap = r.snapshot_by_id(snap.snapshot_id)
            if rep_snap is None:
                continue  # reported by the snapshots check
            compared += 1
            try:
                src_m = {relative(m.manifest_path, s.location): m for m in self.src_files.manifests(snap.manifest_list)}
            except Exception as e:  # noqa: BLE001 - a source problem is not the replica's
                problems.append(f"snapshot {snap.snapshot_id}: the source's manifest list cannot be read: {e}")
                continue
            try:
                rep_m = {relative(m.manifest_path, r.location): m for m in self.rep_files.manifests(rep_snap.manifest_list)}
            except Exception as e:  # noqa: BLE001
                problems.append(f"snapshot {snap.snapshot_id}: the replica's manifest list {rep_snap.manifest_list} cannot be read: {e}")
                continue
            if src_m.keys() != rep_m.keys():
                problems.append(f"snapshot {snap.snapshot_id}: manifests only in the source {sorted(src_m.keys() - rep_m.keys())}, "
                                f"only in the replica {sorted(rep_m.keys() - src_m.keys())}")
            for rel in sorted(src_m.keys() & rep_m.keys()):
                a, b = manifest_key(src_m[rel]), manifest_key(rep_m[rel])
                if a != b:
                    problems.append(f"manifest {rel} (snapshot {snap.snapshot_id}): source {a}, replica {b}")
                    continue
                try:
                    ea = sorted(entry_key(e, s.location) for e in self.src_files.entries(src_m[rel]))
                    eb = sorted(entry_key(e, r.location) for e in self.rep_files.entries(rep_m[rel]))
                except Exception as e:  # noqa: BLE001
                    problems.append(f"manifest {rel}: cannot be read: {type(e).__name__}: {e}")
                    continue
                if ea != eb:
                    only_a = [x for x in ea if x not in eb][:2]
                    only_b = [x for x in eb if x not in ea][:2]
                    problems.append(f"manifest {rel}: entries differ; source only {only_a}; replica only {only_b}")
        fail_with(problems, "differences")
        return f"{compared} snapshots compared"

    # rows ----------------------------------------------------------------------------------------

    def rows(self, engine: str) -> str:
        """The same rows at every snapshot of the replica: the source's, or those recorded before an expiry."""
        problems, unreadable, compared = [], [], 0
        for snap in sorted(self.rep.metadata.snapshots, key=lambda x: x.sequence_number or 0):
            sid = snap.snapshot_id
            if self.src.metadata.snapshot_by_id(sid) is not None:
                try:
                    expected = self._read(engine, SOURCE, sid)
                except Exception as e:  # noqa: BLE001 - a reader's limit at the source is not a replica fault
                    unreadable.append(f"snapshot {sid}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
                    continue
            elif engine in self.case.recorded_rows.get(sid, {}):
                expected = self.case.recorded_rows[sid][engine]
            else:
                problems.append(f"snapshot {sid}: not in the source, and no rows were recorded for it")
                continue
            try:
                actual = self._read(engine, REPLICA, sid)
            except Exception as e:  # noqa: BLE001
                problems.append(f"snapshot {sid}: the replica cannot be read: {type(e).__name__}: {str(e).splitlines()[0][:300]}")
                continue
            compared += 1
            if actual != expected:
                problems.append(f"snapshot {sid}: rows differ:\n      source  {expected!r}\n      replica {actual!r}")
        if unreadable and not compared and not problems:
            raise Skip(f"{engine} cannot read this table at the source: {unreadable[0]}")
        fail_with(problems, "differences")
        return f"{compared} snapshots" + (f"; {len(unreadable)} unreadable at the source ({unreadable[0]})" if unreadable else "")

    def _read(self, engine: str, side: str, snapshot_id: int) -> list[tuple]:
        if engine == "pyiceberg":
            return pyiceberg_rows(self.src if side == SOURCE else self.rep, snapshot_id)
        return spark_rows(self.ctx, side, self.case.source if side == SOURCE else self.rep_ident, snapshot_id)

    # the walker ----------------------------------------------------------------------------------

    def walk(self) -> dict:
        """Every file the replica's current metadata references: under the prefix, present, right size."""
        if self._walk is not None:
            return self._walk
        prefix = canonical(self.ctx.args.dest_prefix)
        m = self.rep.metadata
        files, counts = self.rep_files, Counter()
        problems: list[str] = []
        delete_problems: list[str] = []

        def look(kind: str, path: str | None, size: int | None = None, must_exist: bool = True) -> None:
            counts[kind] += 1
            if path is None:
                problems.append(f"{kind}: no location")
                return
            if not canonical(path).startswith(prefix):
                problems.append(f"{kind} {path}: not under {prefix}")
            if not must_exist:
                return
            try:
                actual = files.size(path)
            except Exception as e:  # noqa: BLE001
                problems.append(f"{kind} {path}: cannot be checked: {type(e).__name__}: {e}")
                return
            if actual is None:
                problems.append(f"{kind} {path}: missing")
            elif size is not None and actual != size:
                problems.append(f"{kind} {path}: {actual} bytes, the metadata says {size}")

        if not canonical(m.location).startswith(prefix):
            problems.append(f"table location {m.location}: not under {prefix}")
        look("metadata file (current)", self.rep.metadata_location)
        for e in m.metadata_log:
            look("metadata file (metadata-log)", e.metadata_file)
        seen_manifests: set[str] = set()
        seen_files: dict[str, int] = {}  # path -> the size its first entry records
        for snap in m.snapshots:
            look("manifest list", snap.manifest_list)
            try:
                manifests = files.manifests(snap.manifest_list)
            except Exception as e:  # noqa: BLE001
                problems.append(f"manifest list {snap.manifest_list}: cannot be read: {type(e).__name__}: {e}")
                continue
            for mf in manifests:
                if mf.manifest_path in seen_manifests:
                    continue
                seen_manifests.add(mf.manifest_path)
                look("manifest", mf.manifest_path, mf.manifest_length)
                try:
                    entries = files.entries(mf)
                except Exception as e:  # noqa: BLE001
                    problems.append(f"manifest {mf.manifest_path}: cannot be read: {type(e).__name__}: {e}")
                    continue
                for entry in entries:
                    df = entry.data_file
                    kind = file_kind(df)
                    if df.file_path in seen_files:
                        # Listed again (existing or deleted entries): the same file, the same size.
                        if seen_files[df.file_path] != df.file_size_in_bytes:
                            problems.append(f"{kind} {df.file_path}: {df.file_size_in_bytes} bytes in an entry of "
                                            f"{mf.manifest_path} (status {int(entry.status)}), "
                                            f"{seen_files[df.file_path]} in another manifest")
                        continue
                    seen_files[df.file_path] = df.file_size_in_bytes
                    look(kind, df.file_path, df.file_size_in_bytes)
                    _, referenced, offset, length = v3_fields(df)
                    if referenced is not None:
                        counts["referenced data file"] += 1
                        if not canonical(referenced).startswith(prefix):
                            delete_problems.append(f"{kind} {df.file_path}: referenced_data_file {referenced} not under {prefix}")
                    if kind == "position-delete file":
                        self._check_position_deletes(df.file_path, prefix, delete_problems, counts)
                    elif kind == "deletion vector":
                        self._check_deletion_vector(df.file_path, referenced, offset, length, prefix, delete_problems, counts)
        for st in m.statistics:
            look("statistics file", st.statistics_path, st.file_size_in_bytes)
        for st in m.partition_statistics:
            look("partition statistics file", st.statistics_path, st.file_size_in_bytes)
        self._walk = {"problems": problems, "delete_problems": delete_problems, "counts": counts}
        return self._walk

    def _check_position_deletes(self, path: str, prefix: str, problems: list[str], counts: Counter) -> None:
        try:
            with self.rep.io.new_input(path).open() as f:
                column = pq.read_table(f, columns=["file_path"]).column("file_path")
        except Exception as e:  # noqa: BLE001
            problems.append(f"position-delete file {path}: cannot be read: {type(e).__name__}: {e}")
            return
        for value in sorted(set(column.to_pylist())):
            counts["position-delete file_path value"] += 1
            if value is None or not canonical(value).startswith(prefix):
                problems.append(f"position-delete file {path}: file_path {value} not under {prefix}")
            elif self.rep_files.size(value) is None:
                problems.append(f"position-delete file {path}: file_path {value} is missing")

    def _check_deletion_vector(self, path: str, referenced: str | None, offset: int | None, length: int | None,
                               prefix: str, problems: list[str], counts: Counter) -> None:
        if referenced is None:
            problems.append(f"deletion vector {path}: no referenced_data_file in its manifest entry")
        elif self.rep_files.size(referenced) is None:
            problems.append(f"deletion vector {path}: its referenced data file {referenced} is missing")
        try:
            with self.rep.io.new_input(path).open() as f:
                puffin = PuffinFile(f.read())
        except Exception as e:  # noqa: BLE001
            problems.append(f"deletion vector {path}: the Puffin file cannot be read: {type(e).__name__}: {e}")
            return
        matched = False
        for blob in puffin.footer.blobs:
            counts["deletion-vector blob"] += 1
            blob_ref = (blob.properties or {}).get("referenced-data-file")
            if blob_ref is None or not canonical(blob_ref).startswith(prefix):
                problems.append(f"deletion vector {path}: blob at {blob.offset} has referenced-data-file {blob_ref} not under {prefix}")
            if blob.offset == offset and blob.length == length:
                matched = True
                if blob_ref != referenced:
                    problems.append(f"deletion vector {path}: blob at {offset} references {blob_ref}, "
                                    f"its manifest entry {referenced}")
        if not matched:
            problems.append(f"deletion vector {path}: no blob at content_offset {offset} of length {length}")

    def files(self) -> str:
        w = self.walk()
        fail_with(w["problems"], "problems")
        return ", ".join(f"{n} {k}" for k, n in sorted(w["counts"].items()) if "value" not in k and "blob" not in k)

    def has_delete_files(self) -> bool:
        c = self.walk()["counts"]
        return bool(c["position-delete file"] or c["deletion vector"] or c["equality-delete file"])

    def delete_files(self) -> str:
        w = self.walk()
        fail_with(w["delete_problems"], "problems")
        c = w["counts"]
        return (f"{c['position-delete file']} position-delete files ({c['position-delete file_path value']} file_path values), "
                f"{c['deletion vector']} deletion-vector files ({c['deletion-vector blob']} blobs)")

    def rename(self) -> str:
        old = self.ctx.replica_ident(self.case.renamed_from)
        if self.ctx.replica.table_exists(old):
            raise AssertionError(f"the replica still has the old name {'.'.join(old)} as well")
        return f"only {'.'.join(self.rep_ident)} in the replica"


def file_kind(df: DataFile) -> str:
    if df.content == DataFileContent.DATA:
        return "data file"
    if df.content == DataFileContent.EQUALITY_DELETES:
        return "equality-delete file"
    return "deletion vector" if df.file_format == FileFormat.PUFFIN else "position-delete file"


def canonical(path: str) -> str:
    """file:/x, file://x and file:///x are the same local file (Java writes file:/x)."""
    return "file:///" + path[len("file:"):].lstrip("/") if path.startswith("file:") else path


def relative(path: str, location: str) -> str:
    """A path relative to the table location (files of the source and the replica compare by it)."""
    path, base = canonical(path), canonical(location).rstrip("/") + "/"
    return path[len(base):] if path.startswith(base) else "!" + path


def manifest_key(m) -> tuple:
    return (m.content, m.partition_spec_id, m.sequence_number, m.min_sequence_number, m.added_snapshot_id,
            m.added_files_count, m.existing_files_count, m.deleted_files_count,
            m.added_rows_count, m.existing_rows_count, m.deleted_rows_count,
            repr(m.partitions))


FILE_PATH_FIELD_ID = 2147483546  # the file_path column of position-delete files


def entry_key(e: ManifestEntry, location: str) -> tuple:
    """What must be the same in the source's and the replica's entry of a file. Position-delete files
    and deletion vectors name data files by path, so the replica rewrites them: their sizes, column
    sizes, Puffin offsets and file_path bounds may differ (bounds compare relative to the table);
    the walker checks the replica's values against its own files."""
    df = e.data_file
    first_row_id, referenced, offset, length = v3_fields(df)
    rewritten = df.content == DataFileContent.POSITION_DELETES

    def items(d):
        return tuple(sorted(d.items())) if d else None

    def bounds(d):
        if not d or not rewritten:
            return items(d)
        return tuple(sorted((k, relative(v.decode("utf8", "replace"), location) if k == FILE_PATH_FIELD_ID else v)
                            for k, v in d.items()))

    return (int(e.status), e.snapshot_id, e.sequence_number, e.file_sequence_number, int(df.content),
            str(df.file_format), relative(df.file_path, location), repr(df.partition), df.record_count,
            None if rewritten else df.file_size_in_bytes, None if rewritten else items(df.column_sizes),
            items(df.value_counts), items(df.null_value_counts), items(df.nan_value_counts),
            bounds(df.lower_bounds), bounds(df.upper_bounds), None if rewritten else df.split_offsets,
            df.equality_ids, df.sort_order_id, first_row_id,
            relative(referenced, location) if referenced else None, None if rewritten else offset, length)


# --- one table, one namespace -----------------------------------------------------------------------

def verify_case(ctx: Context, case: Case, states: dict) -> None:
    subject = case.label
    state = states.get(case.source)
    if not ctx.source.table_exists(case.source):
        ctx.record(subject, "replicated", raising(Skip("the scenario did not create the table")))
        return

    def replicated():
        if state is None:
            raise AssertionError("no replication status for the table")
        if state["state"] != "completed":
            raise AssertionError(describe_state(state))
        return f"{state['latestSequence']} events"

    if not ctx.record(subject, "replicated", replicated):
        for name in ("metadata", "snapshots", "refs", "schemas/specs/orders", "manifests", "rows (pyiceberg)", "files"):
            ctx.record(subject, name, raising(Skip("not replicated")))
        return
    try:
        checks = TableChecks(ctx, case)
    except Exception as e:  # noqa: BLE001 - e.g. NoSuchTableError from the replica
        ctx.record(subject, "metadata", raising(AssertionError(
            f"cannot load the table from the source and the replica: {type(e).__name__}: {e}")))
        return
    ctx.record(subject, "metadata", checks.metadata)
    if ctx.args.dest_prefix.startswith(("s3://", "s3a://")):
        ctx.record(subject, "load config", checks.load_config)
    ctx.record(subject, "snapshots", checks.snapshots)
    ctx.record(subject, "refs", checks.refs)
    ctx.record(subject, "schemas/specs/orders", checks.schemas_specs_orders)
    ctx.record(subject, "manifests", checks.manifests)
    ctx.record(subject, "rows (pyiceberg)", lambda: checks.rows("pyiceberg"))
    if case.spark_rows:
        ctx.record(subject, "rows (spark)", lambda: checks.rows("spark"))
    ctx.record(subject, "files", checks.files)
    try:
        deletes = checks.has_delete_files()
    except Exception:  # noqa: BLE001 - the files check reported it
        deletes = case.spark_rows
    if deletes or case.spark_rows:
        ctx.record(subject, "delete files", checks.delete_files)
    if case.renamed_from:
        ctx.record(subject, "rename", checks.rename)


def verify_namespace(ctx: Context, namespace: tuple[str, ...], states: dict) -> None:
    subject = "namespace " + ".".join(namespace[1:]) if len(namespace) > 1 else "namespace (run)"

    def replicated():
        state = states.get(namespace)
        if state is None:
            raise AssertionError("no replication status for the namespace")
        if state["state"] != "completed":
            raise AssertionError(describe_state(state))
        return f"{state['latestSequence']} events"

    def properties():
        source = ctx.source.load_namespace_properties(namespace)
        replica = ctx.replica.load_namespace_properties(ctx.replica_ident(namespace))
        if source != replica:
            raise AssertionError(f"source {source}, replica {replica}")
        return f"{len(replica)} properties"

    ctx.record(subject, "replicated", replicated)
    ctx.record(subject, "properties", properties)


def raising(error: Exception):
    def check():
        raise error
    return check
