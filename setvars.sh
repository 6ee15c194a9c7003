# Source this file:  . ./setvars.sh
# Sets JAVA_HOME to a JDK 25+ (keeps one already set if it is 25 or newer, else Temurin 25 where installed),
# detects an optional TornadoVM SDK (TORNADOVM_HOME), and puts bin/ on PATH.

_mt_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"

_mt_java_major() {
    "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
}

if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(_mt_java_major "$JAVA_HOME")" -lt 25 ] 2>/dev/null; then
    for _mt_jdk in /usr/lib/jvm/temurin-25* /usr/lib/jvm/jdk-25* /usr/lib/jvm/java-25* /opt/jdk-25* "$HOME"/.sdkman/candidates/java/25*; do
        if [ -x "$_mt_jdk/bin/java" ]; then
            export JAVA_HOME="$_mt_jdk"
            break
        fi
    done
fi
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(_mt_java_major "$JAVA_HOME")" -lt 25 ] 2>/dev/null; then
    echo "setvars.sh: no JDK 25 found; install Temurin 25 (e.g. apt-get install temurin-25-jdk) or set JAVA_HOME" >&2
else
    case ":$PATH:" in *":$JAVA_HOME/bin:"*) ;; *) export PATH="$JAVA_HOME/bin:$PATH" ;; esac
fi

# TornadoVM is optional: the GPU backend is built and tested only where its SDK is found.
if [ -z "${TORNADOVM_HOME:-}" ]; then
    for _mt_tvm in "$HOME"/.sdkman/candidates/tornadovm/current /opt/tornadovm* "$_mt_root"/../tornadovm-sdk*; do
        if [ -f "$_mt_tvm/tornado-argfile" ] || [ -d "$_mt_tvm/share/java/tornado" ]; then
            export TORNADOVM_HOME="$(cd "$_mt_tvm" && pwd)"
            break
        fi
    done
fi

case ":$PATH:" in *":$_mt_root/bin:"*) ;; *) export PATH="$_mt_root/bin:$PATH" ;; esac
unset _mt_jdk _mt_tvm
