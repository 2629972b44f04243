#!/usr/bin/env bash
# Run Apache Iceberg's REST Compatibility Kit (RCK: RESTCompatibilityKitCatalogTests +
# RESTCompatibilityKitViewCatalogTests) against an external REST catalog and summarise the
# Surefire reports.
#
# The RCK client is a full Iceberg Java client: it writes data, manifest and metadata files
# itself and reads the metadata files the server writes (default FileIO; tables land under the
# locations the server assigns, and some tests pass explicit locations under file:/tmp/...).
# So the server under test must share this machine's filesystem (or a common object store, with
# RCK_PROFILES=aws and CATALOG_IO__IMPL/CATALOG_S3_* env for the client).
#
# Run it against a FRESH catalog and warehouse: the RCK refuses to start when its own test
# namespaces (ns, newdb, ns1, ns2, other_ns) exist, and leftovers of an earlier run (other
# namespaces such as a, ns_1, ns_2; orphan data files under the warehouse) make tests fail with
# AlreadyExists. Before the run, those five namespaces are dropped with their tables and views
# (--no-purge to skip) and a warning is printed if any other namespace exists.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: conformance/rck/run.sh <catalog-url> [--warehouse W] [--credential ID:SECRET] [--token T]
                              [--no-purge] [--test PATTERN] [--exclude CLASS#METHOD[,...]]
                              [--results-json FILE]

Runs the Iceberg REST Compatibility Kit against <catalog-url> (e.g. http://127.0.0.1:8182),
prints a per-class pass/fail/skip table, the failed tests (first message line) and skipped tests
(reason), and ends with the line "rck: N passed, N failed, N skipped". Exit status is non-zero
if any test failed or errored, or if no test ran.

options:
  --warehouse W        warehouse sent to /v1/config (RCK default: rck_warehouse)
  --credential C       OAuth2 client credential id:secret for the client
  --token T            bearer token for the client
  --no-purge           do not drop the RCK test namespaces before running
  --test PATTERN       Surefire -Dtest filter, e.g. 'RESTCompatibilityKitCatalogTests#testRename*'
  --exclude LIST       tests not to run, comma-separated Class#method (also RCK_EXCLUDE),
                       e.g. RESTCompatibilityKitCatalogTests#tableCreationWithoutNamespace
  --results-json FILE  also write each test's outcome to FILE as JSON: {"runner": "rck", "checks":
                       [{"name": "Class.method", "status": "passed|failed|skipped", "reason", "seconds"}]}
  -h, --help           this text

environment (RCK feature flags; value true|false):
  RCK_REQUIRES_NAMESPACE_CREATE      (true)   tables need an existing namespace
  RCK_SUPPORTS_SERVERSIDE_RETRY      (true)   server retries conflicting commits itself
  RCK_OVERRIDES_REQUESTED_LOCATION   (false)  server replaces client-requested table locations
  RCK_SUPPORTS_NAMES_WITH_DOT        (false)  dots in namespace/table names
environment (runner):
  RCK_ICEBERG_VERSION   Iceberg version of the RCK jars (1.11.0; 1.7.0+ publish them)
  RCK_PROFILES          extra Maven profiles, e.g. aws (S3FileIO on the client)
  RCK_MVN_ARGS          extra arguments for mvn (e.g. -Dsome.client.property=value)
  RCK_OFFLINE           auto (default: try offline, then online) | true | false
  RCK_REPORTS_DIR       report dir (conformance/rck/reports)
  JAVA_HOME             JDK 17+ for Maven and the tests
  CATALOG_*             client catalog properties (RCK convention: CATALOG_IO__IMPL -> io-impl)
EOF
}

die() { echo "rck: $*" >&2; exit 2; }

url=""
warehouse=""
credential=""
token=""
purge=1
test_filter=""
exclude="${RCK_EXCLUDE:-}"
results_json=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --warehouse) [ $# -ge 2 ] || die "--warehouse needs a value"; warehouse="$2"; shift 2 ;;
    --warehouse=*) warehouse="${1#*=}"; shift ;;
    --credential) [ $# -ge 2 ] || die "--credential needs a value"; credential="$2"; shift 2 ;;
    --credential=*) credential="${1#*=}"; shift ;;
    --token) [ $# -ge 2 ] || die "--token needs a value"; token="$2"; shift 2 ;;
    --token=*) token="${1#*=}"; shift ;;
    --results-json) [ $# -ge 2 ] || die "--results-json needs a value"; results_json="$2"; shift 2 ;;
    --results-json=*) results_json="${1#*=}"; shift ;;
    --no-purge) purge=0; shift ;;
    --test) [ $# -ge 2 ] || die "--test needs a value"; test_filter="$2"; shift 2 ;;
    --test=*) test_filter="${1#*=}"; shift ;;
    --exclude) [ $# -ge 2 ] || die "--exclude needs a value"; exclude="${exclude:+$exclude,}$2"; shift 2 ;;
    --exclude=*) exclude="${exclude:+$exclude,}${1#*=}"; shift ;;
    -*) usage >&2; exit 2 ;;
    *) [ -z "$url" ] || die "only one catalog URL expected"; url="$1"; shift ;;
  esac
done
[ -n "$url" ] || { usage >&2; exit 2; }
case "$url" in http://*|https://*) ;; *) die "catalog URL must start with http:// or https://: $url" ;; esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
reports="${RCK_REPORTS_DIR:-$here/reports}"
mkdir -p "$reports"
reports="$(cd "$reports" && pwd)"
command -v mvn >/dev/null || die "mvn is required"
command -v python3 >/dev/null || die "python3 is required (report parsing)"

# JDK 17+ for Maven and the forked test JVM
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1
}
jbin="${JAVA_HOME:+$JAVA_HOME/bin/java}"
[ -n "$jbin" ] && [ -x "$jbin" ] || jbin="$(command -v java || true)"
jv=""
if [ -n "$jbin" ]; then jv="$(java_major "$jbin" || true)"; fi
case "$jv" in ''|1.*) jv=0 ;; esac
if [ "$jv" -lt 17 ]; then
  for d in /usr/lib/jvm/*; do
    if [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ]; then
      v="$(java_major "$d/bin/java")"
      case "$v" in ''|1.*) continue ;; esac
      if [ "$v" -ge 17 ]; then export JAVA_HOME="$d"; jv="$v"; break; fi
    fi
  done
  [ "$jv" -ge 17 ] || die "JDK 17+ required (set JAVA_HOME)"
fi

# The catalog must answer (any HTTP status: it may want credentials)
curl -sS -o /dev/null --max-time 15 "${url%/}/v1/config" 2>/dev/null \
  || die "no HTTP answer from ${url%/}/v1/config; is the catalog running?"

# Drop leftovers of earlier runs in the RCK's reserved namespaces
if [ "$purge" = 1 ]; then
  RCK_URL="$url" RCK_WAREHOUSE="$warehouse" RCK_BEARER="$token" python3 - <<'PY' || die "could not purge the RCK test namespaces (use --no-purge to skip)"
import json, os, sys, urllib.error, urllib.parse, urllib.request
base = os.environ["RCK_URL"].rstrip("/")
headers = {"Accept": "application/json"}
if os.environ.get("RCK_BEARER"):
    headers["Authorization"] = "Bearer " + os.environ["RCK_BEARER"]

def call(method, path, query=None):
    url = base + path + ("?" + urllib.parse.urlencode(query) if query else "")
    req = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
            return r.status, (json.loads(body) if body else None)
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError) as e:
        sys.exit("%s %s: %s" % (method, url, e))

wh = os.environ.get("RCK_WAREHOUSE")
status, cfg = call("GET", "/v1/config", {"warehouse": wh} if wh else None)
if status != 200:
    sys.exit("GET /v1/config answered %s" % status)
cfg = cfg or {}
prefix = (cfg.get("overrides") or {}).get("prefix") or (cfg.get("defaults") or {}).get("prefix")
root = "/v1/" + (urllib.parse.quote(prefix, safe="") + "/" if prefix else "")

def list_all(path, key):
    out, token = [], None
    while True:
        status, body = call("GET", path, {"pageToken": token} if token else None)
        if status != 200 or not body:
            return out
        out += body.get(key) or []
        token = body.get("next-page-token")
        if not token:
            return out

dropped = []
for ns in ["ns", "newdb", "ns1", "ns2", "other_ns"]:
    status = call("HEAD", root + "namespaces/" + ns)[0]
    if status not in (200, 204, 404):
        status = call("GET", root + "namespaces/" + ns)[0]
    if status not in (200, 204):
        continue
    for kind in ("tables", "views"):
        for ident in list_all(root + "namespaces/" + ns + "/" + kind, "identifiers"):
            name = urllib.parse.quote(ident["name"], safe="")
            call("DELETE", root + "namespaces/" + ns + "/" + kind + "/" + name,
                 {"purgeRequested": "true"} if kind == "tables" else None)
    status = call("DELETE", root + "namespaces/" + ns)[0]
    if status not in (200, 204, 404):
        sys.exit("DELETE namespace %s answered %s" % (ns, status))
    dropped.append(ns)
if dropped:
    print("rck: dropped leftover test namespaces: " + ", ".join(dropped))
others = [".".join(n) for n in list_all(root + "namespaces", "namespaces")]
if others:
    print("rck: warning: the catalog is not empty (namespaces: %s). The RCK expects a fresh catalog"
          " and warehouse; leftovers of an earlier run cause spurious AlreadyExists failures."
          % ", ".join(sorted(others)[:10]))
PY
fi

# Maven invocation: the flags travel as -D user properties (Surefire forwards them to the test JVM)
flag() { # env-var property default
  local v="${!1:-$3}"
  [ -n "$v" ] && props+=("-D$2=$v")
  return 0
}
props=("-Drck.local=false" "-Duri=$url" "-Drck.reportsDirectory=$reports/surefire")
flag RCK_REQUIRES_NAMESPACE_CREATE rck.requires-namespace-create true
flag RCK_SUPPORTS_SERVERSIDE_RETRY rck.supports-serverside-retry true
flag RCK_OVERRIDES_REQUESTED_LOCATION rck.overrides-requested-location ""
flag RCK_SUPPORTS_NAMES_WITH_DOT rck.supports-names-with-dot ""
flag RCK_PURGE_TEST_NAMESPACES rck.purge-test-namespaces ""
[ -n "${RCK_ICEBERG_VERSION:-}" ] && props+=("-Diceberg.version=$RCK_ICEBERG_VERSION")
[ -n "$warehouse" ] && props+=("-Dwarehouse=$warehouse")
[ -n "$credential" ] && props+=("-Dcredential=$credential")
[ -n "$token" ] && props+=("-Dtoken=$token")
if [ -n "$test_filter" ] || [ -n "$exclude" ]; then
  tests="${test_filter:-RESTCompatibilityKitCatalogTests,RESTCompatibilityKitViewCatalogTests}"
  IFS=',' read -r -a ex <<<"$exclude"
  for e in ${ex[@]+"${ex[@]}"}; do
    e="${e// /}"
    [ -n "$e" ] && tests="$tests,!$e"
  done
  props+=("-Dtest=$tests" "-Dsurefire.failIfNoSpecifiedTests=false")
fi
[ -n "${RCK_PROFILES:-}" ] && props+=("-P${RCK_PROFILES}")
# shellcheck disable=SC2206
extra=(${RCK_MVN_ARGS:-})

rm -rf "$reports/surefire"
mvnlog="$reports/mvn.log"
run_mvn() {
  (cd "$here" && mvn -q -B -Dstyle.color=never "$@" "${props[@]}" ${extra[@]+"${extra[@]}"} test) >"$mvnlog" 2>&1
}
echo "rck: running the REST Compatibility Kit against $url (log: $mvnlog)"
start=$(date +%s)
rc=0
case "${RCK_OFFLINE:-auto}" in
  true) run_mvn -o || rc=$? ;;
  false) run_mvn || rc=$? ;;
  *)
    run_mvn -o || rc=$?
    if [ "$rc" != 0 ] && grep -qiE 'offline|has not been downloaded|Could not resolve|Cannot access' "$mvnlog"; then
      echo "rck: some artifacts are not cached yet; resolving online"
      rc=0; rm -rf "$reports/surefire"; run_mvn || rc=$?
    fi
    ;;
esac
elapsed=$(( $(date +%s) - start ))
if [ "$rc" != 0 ]; then
  echo "rck: mvn exited with status $rc; last lines of $mvnlog:" >&2
  grep -vE '^\s+at |^\s*$' "$mvnlog" | tail -n 25 >&2 || true
fi

prc=0
RCK_EXCLUDED="$exclude" RCK_RESULTS_JSON="$results_json" python3 - "$reports/surefire" "$elapsed" <<'PY' || prc=$?
import glob, json, os, re, sys
import xml.etree.ElementTree as ET

rdir, elapsed = sys.argv[1], sys.argv[2]

# Reasons for assumptions that carry no description in the report
KNOWN_SKIPS = {
    "testNamespaceWithDot": "needs rck.supports-names-with-dot=true",
    "testTableNameWithDot": "needs rck.supports-names-with-dot=true",
    "testNamespaceWithSlash": "RCK hard-codes supportsNamesWithSlashes()=false (Jetty rejects %2F)",
    "testTableNameWithSlash": "RCK hard-codes supportsNamesWithSlashes()=false (Jetty rejects %2F)",
}

def short(s, limit=220):
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= limit else s[: limit - 3] + "..."

def first_line(msg):
    lines = [l.strip() for l in (msg or "").splitlines() if l.strip()]
    if not lines:
        return ""
    out = lines[0]
    # assertj messages ("Expecting ...:" / value / "to contain:" / value) carry the substance
    # on the following lines: keep up to four of them
    if out.endswith(":"):
        for line in lines[1:4]:
            if line.startswith(("at ", "Throwable that failed")):
                break
            out += " " + line
    return short(out, 320)

def skip_reason(name, el):
    msg = (el.get("message") or "").strip()
    if msg:
        return short(msg)
    m = re.search(r"assumption was not met due to: \[([^\]]*)\]", el.text or "")
    if m:
        return m.group(1)
    base = name.split("(")[0]
    if base in KNOWN_SKIPS:
        return KNOWN_SKIPS[base]
    if "TestAbortedException" in (el.text or "") or "TestAbortedException" in (el.get("type") or ""):
        return "assumption not met (catalog capability switched off in the RCK)"
    return "skipped"

rows, failed, skipped = [], [], []
checks = []  # every test's outcome, for --results-json
for f in sorted(glob.glob(os.path.join(rdir, "TEST-*.xml"))):
    try:
        root = ET.parse(f).getroot()
    except ET.ParseError as e:
        failed.append((os.path.basename(f), "unreadable report: %s" % e))
        checks.append({"name": os.path.basename(f), "status": "failed", "reason": failed[-1][1], "seconds": 0})
        continue
    cls = root.get("name", os.path.basename(f)).rsplit(".", 1)[-1]
    p = fl = sk = 0
    for tc in root.iter("testcase"):
        name = tc.get("name") or "(class setup)"
        bad = tc.find("failure") if tc.find("failure") is not None else tc.find("error")
        check_name, seconds = "%s.%s" % (cls, name), float(tc.get("time") or 0)
        if bad is not None:
            fl += 1
            msg = bad.get("message") or (bad.text or "")
            kind = (bad.get("type") or "").rsplit(".", 1)[-1]
            text = first_line(msg) or kind
            if kind and tc.find("error") is not None and kind not in text:
                text = kind + ": " + text
            failed.append(("%s.%s" % (cls, name) if tc.get("name") else "%s %s" % (cls, name), text))
            checks.append({"name": check_name, "status": "failed", "reason": text, "seconds": seconds})
        elif tc.find("skipped") is not None:
            sk += 1
            skipped.append(("%s.%s" % (cls, name), skip_reason(name, tc.find("skipped"))))
            checks.append({"name": check_name, "status": "skipped", "reason": skipped[-1][1], "seconds": seconds})
        else:
            p += 1
            checks.append({"name": check_name, "status": "passed", "reason": "", "seconds": seconds})
    rows.append((cls, p, fl, sk, float(root.get("time") or 0)))

tp, tf, ts = sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)
w = max([len(r[0]) for r in rows] + [len("total")])
print()
print("%-*s %7s %7s %7s %9s" % (w, "class", "passed", "failed", "skipped", "time"))
for cls, p, fl, sk, t in rows:
    print("%-*s %7d %7d %7d %8.1fs" % (w, cls, p, fl, sk, t))
print("%-*s %7d %7d %7d %8ss" % (w, "total", tp, tf, ts, elapsed))
if failed:
    print("\nfailed (%d):" % len(failed))
    for n, m in failed:
        print("  %s: %s" % (n, m))
if skipped:
    print("\nskipped (%d):" % len(skipped))
    for n, m in skipped:
        print("  %s: %s" % (n, m))
excluded = [e.strip() for e in os.environ.get("RCK_EXCLUDED", "").split(",") if e.strip()]
if excluded:
    print("\nexcluded, not run (%d): %s" % (len(excluded), ", ".join(excluded)))
if not rows:
    print("\nno test reports found in %s" % rdir)
if os.environ.get("RCK_RESULTS_JSON"):
    with open(os.environ["RCK_RESULTS_JSON"], "w", encoding="utf-8") as out:
        json.dump({"runner": "rck", "checks": checks}, out, indent=1)
print()
print("rck: %d passed, %d failed, %d skipped" % (tp, tf, ts))
sys.exit(1 if (tf > 0 or tp + tf == 0) else 0)
PY
[ "$rc" = 0 ] || exit 1
exit "$prc"
