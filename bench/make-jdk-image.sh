#!/usr/bin/env bash
# Builds a small JDK 25 runtime image with jlink: what `minitron` needs on the CPU path plus what TornadoVM's
# PTX/OpenCL backends need, for machines that have no JDK 25 (the lent GPU machines: see bench/README.md).
#
#   bench/make-jdk-image.sh OUT_DIR            # OUT_DIR must not exist; prints the image's size and its packed size
#
# Modules (found with jdeps on the project's jars and `java --show-module-resolution` on TornadoVM's):
#   java.base, jdk.incubator.vector         the CPU path (Vector API kernels)
#   java.logging, java.management,          TornadoVM's runtime and the Graal compiler it upgrades in
#   jdk.management, jdk.unsupported         (tornado.api needs java.management; truffle-compiler the rest)
#   jdk.internal.vm.ci                      JVMCI, through which TornadoVM's Graal builds its kernels
#   java.desktop                            required by the module tornado.drivers.ptx (and commons-math3); it
#                                           pulls java.xml, java.prefs, java.datatransfer. Its native AWT/font/
#                                           sound/image libraries are left out (nothing here draws), which
#                                           saves ~6 MB; `minitron plot` does not run on such an image.
# EXTRA_MODULES=a,b adds modules (e.g. java.sql for jfreechart, to plot there too; then also KEEP_AWT=1).
#
# Packing: jlink runs with --strip-debug --no-man-pages --no-header-files and by default --compress=zip-0:
# the image is carried as a tar.xz, and xz over uncompressed class files packs far smaller than over
# jlink's zip-9 (measured on Temurin 25.0.3 with these modules: 21.8 MB tar.xz from zip-0, 35.9 MB from zip-9).
# COMPRESS=zip-9 gives the smaller unpacked image instead. The symbol table of libjvm.so is stripped too
# (-5 MB unpacked, -0.9 MB packed; stack traces of a VM crash then show fewer native frames).
#
# Environment: JAVA_HOME (a JDK 25+ with jlink; setvars.sh picks one), COMPRESS, EXTRA_MODULES, KEEP_AWT=1,
# PACK=0 (skip measuring the packed size).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "make-jdk-image.sh: $*" >&2; exit 2; }

case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    "") usage >&2; die "missing OUT_DIR" ;;
esac
[ $# -eq 1 ] || die "one argument expected (OUT_DIR), got $#"
OUT="$1"
[ ! -e "$OUT" ] || die "$OUT already exists (jlink writes a new folder): remove it or name another"

. "$ROOT/setvars.sh" >/dev/null
[ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/jlink" ] || die "no jlink: set JAVA_HOME to a JDK 25+ (not a JRE)"

MODULES="java.base,jdk.incubator.vector,java.logging,java.management,jdk.management,jdk.unsupported,jdk.internal.vm.ci,java.desktop"
[ -z "${EXTRA_MODULES:-}" ] || MODULES="$MODULES,$EXTRA_MODULES"
COMPRESS="${COMPRESS:-zip-0}"

EXCLUDE=()
if [ "${KEEP_AWT:-0}" != 1 ]; then
    # the native half of java.desktop; the classes stay, so module resolution (tornado.drivers.ptx) still works
    libs=""
    for l in awt awt_xawt awt_headless fontmanager freetype lcms javajpeg jsound mlib_image splashscreen; do
        libs="$libs${libs:+,}**/lib$l.so"
    done
    EXCLUDE=(--exclude-files="$libs")
fi

echo "jlink: $JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -1))" >&2
echo "modules: $MODULES" >&2
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files \
    --compress="$COMPRESS" "${EXCLUDE[@]}" --output "$OUT" 2>&1 | grep -v '^WARNING: Using incubator modules' >&2 || true
[ -x "$OUT/bin/java" ] || die "jlink failed"
if command -v strip >/dev/null 2>&1; then
    strip --strip-unneeded "$OUT/lib/server/libjvm.so" || echo "make-jdk-image.sh: strip failed; libjvm.so left as it is" >&2
fi
"$OUT/bin/java" --add-modules jdk.incubator.vector -version 2>&1 | grep -v '^WARNING: Using incubator' | head -1 >&2

size=$(du -sb "$OUT" | cut -f1)
echo "image: $OUT  $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }') unpacked"
if [ "${PACK:-1}" != 0 ]; then
    packed=$(tar -C "$(dirname "$OUT")" -cf - "$(basename "$OUT")" | xz -9 -T0 | wc -c)
    echo "packed (tar.xz -9): $(awk -v b="$packed" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
fi
