#!/usr/bin/env bash
# JMH kernel benchmarks (src/jmh/java), not part of the tests.
#   bench/jmh.sh                          # all kernels, all dtypes
#   bench/jmh.sh KernelBench -p dtype=BF16,Q8_0 -p tokens=1   # any JMH options
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/setvars.sh"
cd "$ROOT"
mvn -q -B -Pjmh -DskipTests package
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -cp "target/minitron-jvm.jar:target/lib/*" org.openjdk.jmh.Main "$@"
