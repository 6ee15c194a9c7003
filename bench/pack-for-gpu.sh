#!/usr/bin/env bash
# Packs what a bare GPU machine needs to run bench/gpu-check.sh, small enough to travel with the repository
# (the device tool carries the checkout plus at most 64 MiB in all, tracked files included):
#
#   jdk.tar.xz           a jlink JDK 25 image (bench/make-jdk-image.sh)                         ~19 MB
#   tornadovm-ptx.tar.xz the TornadoVM SDK cut down to one backend (PTX by default)             ~6 MB
#   app.tar.xz           target/minitron-jvm.jar + target/lib/*.jar (no jfreechart: no plots)   ~2 MB
#
#   bench/pack-for-gpu.sh --sdk /path/to/tornadovm-sdk [--out DIR] [--backend ptx|opencl] [--no-jdk] [--no-stage]
#
# Before packing, build the jar WITH the GPU backend: `TORNADOVM_HOME=<any TornadoVM 5.2.0-jdk25 SDK>
# mvn -B -DskipTests package` (bin/minitron does it when TORNADOVM_HOME is set). A jar built without it still
# runs the java steps; gpu-check.sh then reports "tornado backend unavailable".
#
# --sdk PATH     a TornadoVM SDK with the chosen backend. An OpenCL+PTX SDK (e.g. one built with
#                `make BACKEND=opencl,ptx`; here /work/tvm/sdk-opencl-ptx, 55 MB, ~23 MB packed as it is) is
#                cut to PTX only: the opencl driver jar and library are left out, etc/tornado.backend and the
#                argfile template name the PTX backend alone, and only the jars that the modules
#                tornado.runtime, tornado.annotation, tornado.drivers.common and tornado.drivers.<backend>
#                resolve to are kept (no benchmarks, examples, unit tests, Truffle, cuBLAS/cuDNN wrappers).
#                The result is what a PTX-only SDK (`make BACKEND=ptx`) would hold, so none needs building.
#                Jars are re-stored uncompressed so that xz packs them (8.0 -> 5.9 MB for PTX).
# --backend B    ptx (default: NVIDIA through the CUDA driver, needs no OpenCL ICD) or opencl (e.g. to try the
#                packed set here on PoCL).
# --out DIR      where the three files go (default: ../gpu-carry next to the repository, outside it).
# --no-jdk       the GPU machine has a JDK 25 already (gpu-check.sh then uses its JAVA_HOME).
# --no-stage     only pack. By default the files are then hard-linked (or copied) into .gpu-carry/ in the
#                repository root and that folder is added to .git/info/exclude: the device tool carries only
#                paths inside the checkout, and an ignored folder never gets committed.
#
# Prints each file's size, the size of what travels (tracked + untracked-not-ignored files + the carry) against
# the 64 MiB limit, and the device tool call to make. Run it from the checkout the session sends to the device
# (the tool sends the session's checkout, not a helper's worktree).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "pack-for-gpu.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }

SDK=""; OUT=""; BACKEND=ptx; JDK=1; STAGE=1
while [ $# -gt 0 ]; do
    case "$1" in
        --sdk) SDK="${2:?--sdk needs a path}"; shift 2 ;;
        --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
        --backend) BACKEND="${2:?--backend needs ptx or opencl}"; shift 2 ;;
        --no-jdk) JDK=0; shift ;;
        --no-stage) STAGE=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
[ -n "$SDK" ] || { usage >&2; die "--sdk is required (e.g. --sdk /work/tvm/sdk-opencl-ptx)"; }
case "$BACKEND" in ptx|opencl) ;; *) die "--backend must be ptx or opencl, got '$BACKEND'" ;; esac
[ -f "$SDK/tornado-argfile.template" ] && [ -d "$SDK/share/java/tornado" ] \
    || die "$SDK is not a TornadoVM SDK (no tornado-argfile.template or share/java/tornado)"
[ -f "$SDK/lib/libtornado-$BACKEND.so" ] || die "$SDK has no $BACKEND backend (lib/libtornado-$BACKEND.so missing)"
SDK="$(cd "$SDK" && pwd)"
OUT="${OUT:-$(dirname "$ROOT")/gpu-carry}"
case "$(cd "$(dirname "$OUT")" 2>/dev/null && pwd)/" in
    "$ROOT"/*) die "--out must be outside the repository ($OUT); the staged copy goes to .gpu-carry/" ;;
esac
command -v xz >/dev/null || die "xz is not installed"
command -v python3 >/dev/null || die "python3 is needed (to re-store jars uncompressed)"
. "$ROOT/setvars.sh" >/dev/null
[ -n "${JAVA_HOME:-}" ] || die "no JDK 25 (set JAVA_HOME)"

JAR="$ROOT/target/minitron-jvm.jar"
[ -f "$JAR" ] || die "$JAR is missing: build it first (TORNADOVM_HOME=$SDK mvn -B -DskipTests package)"
if unzip -l "$JAR" 2>/dev/null | grep 'dev/minitron/gpu/TornadoForward.class' >/dev/null; then   # (not grep -q: under pipefail its early exit fails unzip)
    GPU_CLASSES=yes
else
    GPU_CLASSES=no
    log "WARNING: $JAR has no GPU backend (built without TORNADOVM_HOME or src/tornado is missing):"
    log "         gpu-check.sh will run the java steps and report 'tornado backend unavailable'."
    log "         Rebuild with: TORNADOVM_HOME=$SDK mvn -B -DskipTests package"
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/pack-for-gpu.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# Rewrites a jar with its entries stored (uncompressed), same order and names: xz then packs across files.
store_jar() {
    python3 - "$1" "$2" <<'EOF'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zo:
    for info in zi.infolist():
        out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
        out.external_attr = info.external_attr
        out.compress_type = zipfile.ZIP_STORED
        zo.writestr(out, zi.read(info.filename))
EOF
}

pack() { # $1 = folder holding $2, $2 = top folder(s) to pack, $3 = tar.xz to write
    tar -C "$1" --owner=0 --group=0 --numeric-owner -cf - $2 | xz -9 -T0 > "$3.tmp"
    mv "$3.tmp" "$3"
}

# ---- 1. JDK image
if [ "$JDK" = 1 ]; then
    log "1/3 jlink image (bench/make-jdk-image.sh)"
    PACK=0 "$ROOT/bench/make-jdk-image.sh" "$TMP/jdk" >&2
    pack "$TMP" jdk "$OUT/jdk.tar.xz"
    JAVA_CHECK="$TMP/jdk/bin/java"
else
    rm -f "$OUT/jdk.tar.xz"
    JAVA_CHECK="$JAVA_HOME/bin/java"
fi

# ---- 2. TornadoVM SDK cut to one backend
log "2/3 TornadoVM SDK $SDK -> $BACKEND only"
T="$TMP/tornadovm"
mkdir -p "$T/share/java/tornado" "$T/share/java/graalJars" "$T/lib" "$T/etc" "$T/bin"
keep_jar() { # $1 = folder under share/java, $2 = file name glob
    local f found=0
    for f in "$SDK/share/java/$1/"$2; do
        [ -f "$f" ] || continue
        store_jar "$f" "$T/share/java/$1/$(basename "$f")"
        found=1
    done
    [ "$found" = 1 ] || die "$SDK/share/java/$1 has no $2"
}
for j in tornado-api tornado-runtime tornado-annotation tornado-drivers-common "tornado-drivers-$BACKEND"; do
    keep_jar tornado "$j-[0-9]*.jar"
done
# what those modules require (java --show-module-resolution): ASM (annotation), commons-math3 and snmp4j
# (automatic modules that tornado.runtime requires)
for j in asm commons-math3 snmp4j; do keep_jar tornado "$j-[0-9]*.jar"; done
# the Graal compiler that TornadoVM puts on the upgrade module path, and what it requires
for j in compiler collections word truffle-compiler; do keep_jar graalJars "$j-[0-9]*.jar"; done
cp "$SDK/lib/libtornado-$BACKEND.so" "$T/lib/"
cp "$SDK/etc/tornado.properties" "$T/etc/"
[ ! -f "$SDK/etc/tornado.release" ] || cp "$SDK/etc/tornado.release" "$T/etc/"
echo "tornado.backends=$BACKEND-backend" > "$T/etc/tornado.backend"
cp "$SDK"/LICENSE* "$T/" 2>/dev/null || true
# the argfile template: common exports + this backend's, and only this backend's driver module
awk -v b="$BACKEND" -v drv="tornado.drivers.$BACKEND" 'BEGIN { keep = 1 }
    /^# ===:? [a-z]+-exports ===/ { name = $0; sub(/^# ===:? /, "", name); sub(/-exports ===.*/, "", name)
                                   keep = (name == "common" || name == b) }
    /^--add-modules / { n = split(substr($0, 15), m, ","); s = ""
                        for (i = 1; i <= n; i++) if (m[i] !~ /^tornado\.drivers\./ || m[i] == "tornado.drivers.common" || m[i] == drv) s = s (s == "" ? "" : ",") m[i]
                        print "--add-modules " s; next }
    /^--enable-native-access=/ { print "--enable-native-access=" drv; next }
    keep == 0 && /^--/ { next }
    { print }' "$SDK/tornado-argfile.template" > "$T/tornado-argfile.template"
grep -q "tornado.drivers.$BACKEND" "$T/tornado-argfile.template" || die "could not rewrite the argfile template"
cat > "$T/bin/make-argfile.sh" <<'EOF'
#!/bin/sh
# Writes tornado-argfile for this SDK's location (the template names ${TORNADOVM_HOME}).
H="$(cd "$(dirname "$0")/.." && pwd)"
sed "s#\${TORNADOVM_HOME}#$H#g" "$H/tornado-argfile.template" > "$H/tornado-argfile"
EOF
chmod +x "$T/bin/make-argfile.sh"
"$T/bin/make-argfile.sh"
# module resolution must succeed with exactly these jars on the image that will run them
if ! res="$("$JAVA_CHECK" -XX:+UnlockExperimentalVMOptions -XX:+EnableJVMCI \
        --module-path "$T/share/java/tornado" --upgrade-module-path "$T/share/java/graalJars" \
        --add-modules "tornado.runtime,tornado.annotation,tornado.drivers.common,tornado.drivers.$BACKEND" \
        -version 2>&1)"; then
    echo "$res" >&2
    die "the cut-down SDK does not resolve on $JAVA_CHECK (see above)"
fi
rm "$T/tornado-argfile"
pack "$TMP" tornadovm "$OUT/tornadovm-$BACKEND.tar.xz"
for other in ptx opencl; do [ "$other" = "$BACKEND" ] || rm -f "$OUT/tornadovm-$other.tar.xz"; done

# ---- 3. the application jars
log "3/3 application jars (target/minitron-jvm.jar, target/lib without jfreechart)"
mkdir -p "$TMP/app/target/lib"
store_jar "$JAR" "$TMP/app/target/minitron-jvm.jar"
for f in "$ROOT"/target/lib/*.jar; do
    case "$(basename "$f")" in jfreechart-*) continue ;; esac
    store_jar "$f" "$TMP/app/target/lib/$(basename "$f")"
done
pack "$TMP/app" target "$OUT/app.tar.xz"
echo "built-with-gpu-backend: $GPU_CLASSES" > "$OUT/app.txt"
echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src pom.xml 2>/dev/null || echo ' (with local changes)')" >> "$OUT/app.txt"

# ---- stage inside the repository (ignored), so the device tool can carry it
CARRY_DIR="$OUT"
if [ "$STAGE" = 1 ]; then
    S="$ROOT/.gpu-carry"
    rm -rf "$S"
    mkdir -p "$S"
    for f in "$OUT"/*.tar.xz "$OUT/app.txt"; do ln "$f" "$S/" 2>/dev/null || cp "$f" "$S/"; done
    EX="$(git -C "$ROOT" rev-parse --git-path info/exclude 2>/dev/null || true)"
    if [ -n "$EX" ]; then
        case "$EX" in /*) ;; *) EX="$ROOT/$EX" ;; esac
        mkdir -p "$(dirname "$EX")"
        grep -qx '/.gpu-carry/' "$EX" 2>/dev/null || echo '/.gpu-carry/' >> "$EX"
    fi
    git -C "$ROOT" check-ignore -q "$S/app.txt" || die "$S is not ignored by git; add '/.gpu-carry/' to .git/info/exclude"
    CARRY_DIR="$S"
fi

# ---- sizes
sum_sizes() { xargs -0 -r stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
TRACKED=$(cd "$ROOT" && git ls-files -z | sum_sizes)
UNTRACKED=$(cd "$ROOT" && git ls-files -z -o --exclude-standard | sum_sizes)
SHARED=0
[ ! -d "$ROOT/shared" ] || SHARED=$(find "$ROOT/shared" -type f -print0 | sum_sizes)
CARRY=$(find "$CARRY_DIR" -type f -print0 | sum_sizes)
TOTAL=$((TRACKED + UNTRACKED + SHARED + CARRY))
LIMIT=$((64 * 1024 * 1024))
echo
echo "carry set in $CARRY_DIR:"
for f in "$CARRY_DIR"/*; do printf '  %-24s %10s\n' "$(basename "$f")" "$(mb "$(stat -c %s "$f")")"; done
printf '  %-24s %10s\n' "(carry, all)" "$(mb "$CARRY")"
echo "what travels with the device tool:"
printf '  %-24s %10s   (git ls-files)\n' "tracked files" "$(mb "$TRACKED")"
printf '  %-24s %10s   (git ls-files -o --exclude-standard)\n' "untracked, not ignored" "$(mb "$UNTRACKED")"
[ "$SHARED" = 0 ] || printf '  %-24s %10s\n' "shared/" "$(mb "$SHARED")"
printf '  %-24s %10s   of %s (64 MiB): %s\n' "total" "$(mb "$TOTAL")" "$(mb "$LIMIT")" \
    "$([ "$TOTAL" -le "$LIMIT" ] && echo "fits, $(mb $((LIMIT - TOTAL))) to spare" || echo "TOO BIG by $(mb $((TOTAL - LIMIT)))")"
echo
if [ "$STAGE" = 1 ]; then
    echo "device tool call (from $ROOT):"
    echo "  run(command=\"bash bench/gpu-check.sh 2>&1\", carry=[\".gpu-carry\"], timeout_s=600)"
    echo "  (gpu-check.sh finds .gpu-carry itself, unpacks into /tmp, writes its logs to \$OUT, prints the table last)"
else
    echo "not staged (--no-stage): copy $OUT/* into an ignored folder of the checkout and pass it as GPU_CARRY"
fi
[ "$TOTAL" -le "$LIMIT" ] || exit 1
