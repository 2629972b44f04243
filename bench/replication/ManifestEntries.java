// Appends many data file entries to an Iceberg table cheaply, for bench/replication: each entry is a
// copy of a real data file's entry (its column metrics included) under a new path and partition.
// The files themselves are not written: only table metadata (manifests, lists, metadata JSON) is
// benchmarked. Called from rewrite_bench.py through py4j; compiled by run.sh.
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Table;

public final class ManifestEntries {
  private ManifestEntries() {}

  /** One fast append (one new manifest) per commit, `filesPerCommit` entries each; day partition = commit index. */
  public static void append(Table table, DataFile template, int commits, int filesPerCommit, String partitionField) {
    PartitionSpec spec = table.spec();
    String dataDir = table.location() + "/data";
    for (int c = 0; c < commits; c++) {
      String partition = partitionField + "=" + java.time.LocalDate.of(2024, 1, 1).plusDays(c);
      AppendFiles append = table.newFastAppend();
      for (int i = 0; i < filesPerCommit; i++) {
        String path = String.format("%s/%s/%05d-%06d-%s.parquet", dataDir, partition, c, i, java.util.UUID.randomUUID());
        DataFile file = DataFiles.builder(spec).copy(template).withPath(path).withPartitionPath(partition).build();
        append.appendFile(file);
      }
      append.commit();
    }
  }
}
