# shellcheck shell=bash
# Shared shell helpers for the conformance runners; source it, do not run it.
# Provides: CONFORMANCE_ROOT (repo root), conformance_python, conformance_jar, conformance_spark_jars,
# conformance_wants_s3.

CONFORMANCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Newest Iceberg release with a runtime for the pinned pyspark's major.minor (override to try another).
ICEBERG_VERSION=${ICEBERG_VERSION:-1.12.0}
# Keep the source tree free of __pycache__ folders.
export PYTHONDONTWRITEBYTECODE=1
# Jars live in a gitignored cache so runs after the first need no network.
CONFORMANCE_JAR_DIR=${CONFORMANCE_JAR_DIR:-$CONFORMANCE_ROOT/.tmp/conformance-jars}

# Prints the project venv's python, creating the venv (scripts/requirements.txt) on first use.
conformance_python() {
  local venv
  venv=$(bash "$CONFORMANCE_ROOT/scripts/python-env.sh")
  echo "$venv/bin/python"
}

# Prints the path of group:artifact:version's jar, fetching it with Maven if not cached yet.
conformance_jar() {
  local gav=$1 artifact version jar
  artifact=$(cut -d: -f2 <<<"$gav")
  version=$(cut -d: -f3 <<<"$gav")
  jar="$CONFORMANCE_JAR_DIR/$artifact-$version.jar"
  if [ ! -s "$jar" ]; then
    mkdir -p "$CONFORMANCE_JAR_DIR"
    echo "fetching $gav" >&2
    mvn -B -q -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact="$gav" -DoutputDirectory="$CONFORMANCE_JAR_DIR" >&2
  fi
  echo "$jar"
}

# Exports CONFORMANCE_SPARK_JARS (comma-separated, for spark.jars): the Iceberg Spark runtime matching
# the installed pyspark ($1 is the venv python), plus the AWS bundle (S3FileIO) when $2 is "s3".
conformance_spark_jars() {
  local python=$1 storage=${2:-local} spark_minor jars
  spark_minor=$("$python" -c 'import pyspark; print(".".join(pyspark.__version__.split(".")[:2]))')
  jars=$(conformance_jar "org.apache.iceberg:iceberg-spark-runtime-${spark_minor}_2.13:$ICEBERG_VERSION")
  if [ "$storage" = s3 ]; then
    jars="$jars,$(conformance_jar "org.apache.iceberg:iceberg-aws-bundle:$ICEBERG_VERSION")"
  fi
  export CONFORMANCE_SPARK_JARS=$jars
}

# Succeeds if the arguments ask for S3 storage.
conformance_wants_s3() {
  local a
  for a in "$@"; do [[ $a == --s3-endpoint* ]] && return 0; done
  return 1
}
