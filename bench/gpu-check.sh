#!/usr/bin/env bash
# One prepared check of the TornadoVM backend on a machine with an NVIDIA GPU (and no Maven, no network):
# correctness against the fixtures' float64 references and the CPU path, a Minitron-8B-shaped model GPU vs CPU,
# and prefill/decode speed against the memory-bandwidth floor. Prints a short table LAST.
#
#   bash bench/gpu-check.sh [--dry-run] [--cpu-only] [--no-big] [--carry DIR] [--device B:D] [--budget S]
#
# What it needs (bench/pack-for-gpu.sh prepares all three and prints the device tool call):
#   a JDK 25      JAVA_HOME if it is 25+, else jdk.tar.xz from the carry folder (a jlink image)
#   TornadoVM     TORNADOVM_HOME if set, else tornadovm-ptx.tar.xz (or -opencl) from the carry folder; its
#                 argfile is rewritten for where it is unpacked
#   the jar       target/minitron-jvm.jar + target/lib/*.jar if present (then target/ must be carried), else
#                 app.tar.xz from the carry folder, unpacked into target/. Build it here WITH the GPU backend
#                 (TORNADOVM_HOME=<a TornadoVM 5.2.0-jdk25 SDK> mvn -B -DskipTests package): it is run as it
#                 is (MINITRON_NO_BUILD=1), nothing is compiled on the GPU machine
# The carry folder: --carry DIR, else $GPU_CARRY, else .gpu-carry/ in the repository, else ../gpu-carry.
#
# Steps (each time-limited with `timeout`; one that fails is marked FAILED and the others still run):
#   a  nvidia-smi (GPU name, memory, driver) and `minitron devices`; if TornadoVM has no usable backend the
#      tornado steps say "tornado backend unavailable" and the java steps still run
#   b  fixtures: tiny-a hf-fp32, tiny-b gguf f32, tiny-a gguf q8_0, the demo model (bf16), prompt 1 of each:
#      `score --json` logits vs the float64 reference (max abs diff <= TOL_F32 = 1e-3 for f32 and q8_0, whose
#      reference is on the dequantized weights; TOL_BF16 = 1e-2 for the bf16 demo) and vs the java backend;
#      `generate --temp 0 --ignore-eos --json` tokens equal to the reference's greedy tokens; java and tornado
#   c  a model of the real Minitron-8B shape synthesized on the machine (BIG_DTYPES="bf16 q8_0", GGUF, in
#      $WORK/models; the synthesis starts in the background at once), one short prompt: GPU vs CPU logits
#      (max abs diff relative to max |logit| <= TOL_BIG = 1e-2, and the same argmax)
#   d  `minitron bench --backend tornado $GPU_BENCH` (-p 128 -n 64 -r 3) on the 8B models, a `generate
#      --profile` of 16 tokens on the first (TornadoVM's per-task times), `--backend java $CPU_BENCH` (-p 128
#      -n 16 -r 1: the CPU is ~50x slower, a full tg64 x 3 would not fit), then the variants on the first model
#      (D_RUNS), --json: tokens/s, the bandwidth each backend measured, the floor and the fraction
#   e  the table
#
# --dry-run   print the steps and commands, run nothing
# --cpu-only  run only the java-backend steps (the tornado ones are SKIPPED); for trying the script without a GPU
# --no-big    skip steps c and d
# --device    TornadoVM device id for every tornado run (default: TornadoVM's default device)
# --budget S  start no run after S seconds (default 560: the device tool allows 600 per command); step b ends
#             at B_END=40% of it and step c at C_END=65% at the latest, so that one slow step leaves time for d
# Environment: WORK (scratch, default /tmp/gpu-check), OUT (results folder: the device tool sets it; default
# $WORK/out): gpu-check.log, summary.txt, bench-*.json (one per variant and java), profile.txt land there (the device tool takes back 8 files at most).
# D_RUNS (step d's runs in order, default "tornado profile java tornado-merged profile-loops tornado-loops": tornado =
# the bench as a user gets it (work-group kernels on a GPU), on every model; profile = `generate --profile` on the
# first model; java = the CPU bench; a tornado variant (tornado-loops = -Dminitron.gpu.kernels=loops, the one-row
# kernels; tornado-merged = -Dminitron.gpu.graphs=merged, all layers in one task graph; tornado-graph =
# -Dminitron.cudaGraph=on) benches the first model with VARIANT_BENCH (-p 128 -n 32 -r 1), profile-VARIANT
# profiles it),
# B_VARIANTS (tornado variants also run in step b, default none), BIG_SHAPE (minitron-8b), BIG_DTYPES, TORNADO_DEVICE_MEMORY (-Dtornado.device.memory, default 64GB; TornadoVM
# caps at 4GB otherwise), HEAP (-Xmx, 16g), GPU_BENCH, CPU_BENCH, TOL_F32, TOL_BF16, TOL_BIG, FIXTURES
# (names of the cases in step b).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
START=$(date +%s)

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
DRY=0; CPU_ONLY=0; BIG=1; CARRY_ARG=""; DEVICE=""; BUDGET=560
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY=1; shift ;;
        --cpu-only) CPU_ONLY=1; shift ;;
        --no-big) BIG=0; shift ;;
        --carry) CARRY_ARG="${2:?--carry needs a folder}"; shift 2 ;;
        --device) DEVICE="${2:?--device needs B:D}"; shift 2 ;;
        --budget) BUDGET="${2:?--budget needs seconds}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; echo "gpu-check.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[[ "$BUDGET" =~ ^[0-9]+$ ]] || { echo "gpu-check.sh: --budget must be seconds" >&2; exit 2; }

WORK="${WORK:-/tmp/gpu-check}"
RESULTS="${OUT:-$WORK/out}"
RUNS="$WORK/runs"
BIG_SHAPE="${BIG_SHAPE:-minitron-8b}"
BIG_DTYPES="${BIG_DTYPES:-bf16 q8_0}"
BIG_DIR="${BIG_DIR:-$WORK/models}"
BIG_PROMPT="${BIG_PROMPT:-The capital of France is}"
TORNADO_DEVICE_MEMORY="${TORNADO_DEVICE_MEMORY:-64GB}"
HEAP="${HEAP:-16g}"
GPU_BENCH="${GPU_BENCH:--p 128 -n 64 -r 3}"
D_RUNS="${D_RUNS-tornado profile java tornado-merged profile-loops tornado-loops}"
VARIANT_BENCH="${VARIANT_BENCH:--p 128 -n 32 -r 1}"
B_VARIANTS="${B_VARIANTS:-}"
CPU_BENCH="${CPU_BENCH:--p 128 -n 16 -r 1}"
TOL_F32="${TOL_F32:-1e-3}"
TOL_BF16="${TOL_BF16:-1e-2}"
TOL_BIG="${TOL_BIG:-1e-2}"
FIXTURES="${FIXTURES:-tiny-a-hf-f32 tiny-b-gguf-f32 tiny-a-gguf-q8_0 demo-bf16}"
RESERVE=10          # seconds kept for the table
B_END="${B_END:-40}"
C_END="${C_END:-65}"
FX="$ROOT/src/test/resources/fixtures"

# one case of step b: model path | reference | prompt index | tolerance
fixture_case() {
    case "$1" in
        tiny-a-hf-f32)    echo "$FX/tiny-a/hf-fp32|$FX/tiny-a/golden.json|1|$TOL_F32" ;;
        tiny-b-gguf-f32)  echo "$FX/tiny-b/gguf/tiny-b-f32.gguf|$FX/tiny-b/golden.json|1|$TOL_F32" ;;
        tiny-a-gguf-q8_0) echo "$FX/tiny-a/gguf/tiny-a-q8_0.gguf|$FX/tiny-a/gguf/golden-q8_0-dequant.json|1|$TOL_F32" ;;
        demo-bf16)        echo "$ROOT/weights/demo|$ROOT/weights/demo/golden.json|1|$TOL_BF16" ;;
        *) return 1 ;;
    esac
}

ROWS=()             # "step|name|status|detail"
row() { local d="${4//|//}"; ROWS+=("$1|$2|$3|$d"); echo ">> $1 $2: $3${d:+ - $d}"; }
now() { echo $(( $(date +%s) - START )); }
# seconds left for the current step: steps b and c end at B_END% and C_END% of the budget at the latest, so that
# slow runs in one step (TornadoVM compiles its kernels in every new JVM) still leave time for the others
STEP_END=100
remaining() { echo $(( START + BUDGET * STEP_END / 100 - $(date +%s) )); }
step() { echo; echo "== [$(now)s] $*"; }

BG_PIDS=()
children() { # $1 = pid; read from /proc (the GPU machine's image may have no ps)
    local p st
    for p in /proc/[0-9]*; do
        st="$(cat "$p/stat" 2>/dev/null)" || continue
        st="${st##*) }"                       # after "pid (comm) ": state ppid ...
        set -- "$1" $st
        [ "$3" != "$1" ] || echo "${p#/proc/}"
    done
}
kill_tree() { # $1 = pid: the process and its descendants (the background synthesis runs timeout -> java)
    local c
    for c in $(children "$1"); do kill_tree "$c"; done
    kill -- "$1" 2>/dev/null || true
}
cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do kill_tree "$p"; done
    rm -f "$BIG_DIR"/*.partial-* 2>/dev/null || true
    if [ -n "$TEE_PID" ]; then exec >&- 2>&-; wait "$TEE_PID" 2>/dev/null || true; fi   # the log's last lines
}
TEE_PID=""
trap cleanup EXIT

# ---------------------------------------------------------------- the table (step e), also on early exit
print_table() {
    local r s n st d gpu
    {
        echo
        echo "== gpu-check summary: ${GPU_NAME:-no GPU found}; $(now)s; $BUILD_INFO"
        printf '%-2s %-34s %-8s %s\n' "" "check" "status" "detail"
        for r in "${ROWS[@]}"; do
            IFS='|' read -r s n st d <<< "$r"
            printf '%-2s %-34s %-8s %s\n' "$s" "$n" "$st" "$d"
        done
    } | tee "$RESULTS/summary.txt"
}

mkdir -p "$WORK" "$RUNS" "$RESULTS" 2>/dev/null || true
[ "$DRY" = 1 ] || rm -f "$RESULTS/profile.txt"
if [ "$DRY" = 0 ]; then
    exec > >(tee "$RESULTS/gpu-check.log") 2>&1
    TEE_PID=$!
fi
echo "gpu-check.sh: $(date -Iseconds) on ${HOSTNAME:-?}; budget ${BUDGET}s; work $WORK; results $RESULTS"
[ "$DRY" = 0 ] || echo "(dry run: nothing is executed)"

# ---------------------------------------------------------------- setup: JDK, TornadoVM, jar
step "setup: JDK 25, TornadoVM SDK, prebuilt jar"
CARRY=""
for c in "$CARRY_ARG" "${GPU_CARRY:-}" "$ROOT/.gpu-carry" "$(dirname "$ROOT")/gpu-carry"; do
    if [ -n "$c" ] && [ -d "$c" ]; then CARRY="$(cd "$c" && pwd)"; break; fi
done
[ -z "$CARRY_ARG" ] || [ -n "$CARRY" ] || { echo "gpu-check.sh: --carry $CARRY_ARG is not a folder" >&2; exit 2; }
echo "carry folder: ${CARRY:-none}"

java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
unpack() { # $1 = tar.xz, $2 = folder to unpack into
    echo "  unpacking $1 -> $2"
    [ "$DRY" = 0 ] || return 0
    mkdir -p "$2"
    if command -v xz >/dev/null 2>&1; then
        tar -C "$2" -xJf "$1"
    else                                      # no xz-utils on the machine: Python's lzma reads it too
        python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1], "r:xz")
t.extractall(sys.argv[2], **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))' "$1" "$2"
    fi
}

JH=""
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && [ "$(java_major "$JAVA_HOME")" -ge 25 ] 2>/dev/null; then
    JH="$JAVA_HOME"; echo "JDK: JAVA_HOME=$JH"
elif [ -n "$CARRY" ] && [ -f "$CARRY/jdk.tar.xz" ]; then
    rm -rf "$WORK/jdk"; unpack "$CARRY/jdk.tar.xz" "$WORK"; JH="$WORK/jdk"; echo "JDK: carried jlink image $JH"
else
    for j in /usr/lib/jvm/temurin-25* /usr/lib/jvm/jdk-25* /usr/lib/jvm/java-25* /opt/jdk-25*; do
        if [ -x "$j/bin/java" ]; then JH="$j"; echo "JDK: $JH"; break; fi
    done
fi

TH=""; TORNADO_WHY=""
if [ -n "${TORNADOVM_HOME:-}" ] && [ -f "$TORNADOVM_HOME/tornado-argfile" ]; then
    TH="$TORNADOVM_HOME"; echo "TornadoVM: TORNADOVM_HOME=$TH"
elif [ -n "$CARRY" ] && ls "$CARRY"/tornadovm-*.tar.xz >/dev/null 2>&1; then
    t="$(ls "$CARRY"/tornadovm-*.tar.xz | head -1)"
    rm -rf "$WORK/tornadovm"; unpack "$t" "$WORK"; TH="$WORK/tornadovm"
    echo "  writing $TH/tornado-argfile for this location"
    [ "$DRY" = 1 ] || sed "s#\${TORNADOVM_HOME}#$TH#g" "$TH/tornado-argfile.template" > "$TH/tornado-argfile"
    echo "TornadoVM: carried $(basename "$t") -> $TH"
else
    TORNADO_WHY="no TornadoVM SDK (TORNADOVM_HOME unset and no tornadovm-*.tar.xz in the carry folder)"
    echo "TornadoVM: none: $TORNADO_WHY"
fi

# TornadoVM's PTX library links libcuda.so.1 (the driver's): make sure the loader finds it
if [ "$DRY" = 0 ] && ! ldconfig -p 2>/dev/null | grep 'libcuda\.so\.1' >/dev/null; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
        if [ -e "$d/libcuda.so.1" ]; then export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; break; fi
    done
fi
echo "libcuda.so.1: $(ldconfig -p 2>/dev/null | grep -m1 'libcuda\.so\.1' || true) LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

JAR="$ROOT/target/minitron-jvm.jar"
if [ -f "$JAR" ]; then
    echo "jar: $JAR (as it is)"
elif [ -n "$CARRY" ] && [ -f "$CARRY/app.tar.xz" ]; then
    unpack "$CARRY/app.tar.xz" "$ROOT"; echo "jar: from app.tar.xz ($(cat "$CARRY/app.txt" 2>/dev/null | tr '\n' ' '))"
fi

BUILD_INFO="commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
if [ -n "$CARRY" ] && [ -f "$CARRY/app.txt" ] && [ ! -e "$ROOT/.git" ]; then BUILD_INFO="jar: $(tr '\n' ' ' < "$CARRY/app.txt")"; fi
SETUP_OK=1
if [ -z "$JH" ]; then row setup "JDK 25" FAILED "no JAVA_HOME 25+, no jdk.tar.xz in the carry folder"; SETUP_OK=0; fi
if [ "$DRY" = 0 ] && [ ! -f "$JAR" ]; then row setup "jar" FAILED "no target/minitron-jvm.jar and no app.tar.xz"; SETUP_OK=0; fi
if [ "$SETUP_OK" = 0 ]; then print_table; exit 1; fi
[ "$DRY" = 1 ] || "$JH/bin/java" -version 2>&1 | head -1
PY=1
command -v python3 >/dev/null 2>&1 || { PY=0; echo "python3 missing: outputs are saved but not compared"; }

# runs `minitron ARGS` (or any command) with a time limit, stdout to $RUNS/NAME.out, stderr to $RUNS/NAME.err
#   run_limited LIMIT NAME BACKEND minitron-args...      (BACKEND: java, tornado or a tornado variant (see
#   variant_opts), which set the JVM options and --backend; none: neither)
run_limited() {
    local limit=$1 name=$2 backend=$3; shift 3
    local rem=$(( $(remaining) - RESERVE )) opts="-Xmx$HEAP" extra=()
    if [[ "$backend" == tornado* ]]; then
        opts="$opts -Dtornado.device.memory=$TORNADO_DEVICE_MEMORY $(variant_opts "$backend")"
        extra=(--backend tornado)
        [ -z "$DEVICE" ] || extra+=(--device "$DEVICE")
    elif [ "$backend" = java ]; then
        extra=(--backend java)
    fi
    [ "$limit" -le "$rem" ] || limit=$rem
    local vo=""; [[ "$backend" != tornado-* ]] || vo="[$backend: $(variant_opts "$backend")] "
    echo "  \$ ${vo}minitron $(printf '%q ' "$@" "${extra[@]}")  [${limit}s max]"
    [ "$DRY" = 0 ] || return 0
    if [ "$limit" -lt 10 ]; then
        echo "  not started: the time budget (--budget $BUDGET) is spent" | tee "$RUNS/$name.err"; : > "$RUNS/$name.out"
        return 125
    fi
    local rc=0
    timeout -k 5 "$limit" env MINITRON_NO_BUILD=1 JAVA_HOME="$JH" TORNADOVM_HOME="$TH" JAVA_OPTS="$opts ${JAVA_OPTS:-}" \
        "$ROOT/bin/minitron" "$@" "${extra[@]}" > "$RUNS/$name.out" 2> "$RUNS/$name.err" || rc=$?
    [[ "$backend" != tornado* ]] || grep -h '^tornado: ' "$RUNS/$name.err" 2>/dev/null | sed 's/^/  /' || true
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "  TIMEOUT after ${limit}s" | tee -a "$RUNS/$name.err"
    elif [ "$rc" != 0 ]; then
        sleep 1     # bin/minitron filters java's stderr through a process substitution: let it finish writing
        echo "  exit $rc; the end of its stderr:"
        grep -v '^\s*at \|^#\s*$' "$RUNS/$name.err" | grep . | tail -25 | cut -c1-300 | sed 's/^/  | /'
        local h; for h in $(grep -o '/[^ ]*hs_err_pid[0-9]*\.log' "$RUNS/$name.err" "$RUNS/$name.out" 2>/dev/null | sed 's/^[^:]*://' | sort -u); do
            echo "  $h:"; grep -m8 -A3 '^# Problematic frame\|^Stack: \|^Native frames\|^# *Internal Error\|^# *SIG' "$h" 2>/dev/null | head -30 | sed 's/^/  | /'
            grep -m1 -A12 '^Java frames' "$h" 2>/dev/null | sed 's/^/  | /'
        done
    fi
    return "$rc"
}
variant_opts() { # the JVM options of a tornado variant
    case "$1" in
        tornado) echo "" ;;
        tornado-graph) echo "-Dminitron.cudaGraph=on" ;;
        tornado-loops) echo "-Dminitron.gpu.kernels=loops" ;;
        tornado-merged) echo "-Dminitron.gpu.graphs=merged" ;;
        *) echo "-Dunknown.variant=$1" ;;
    esac
}
first_error() { # the reason of a failed run, in one line (never fails: it is used in assignments under set -e)
    local f line=""
    for f in "$RUNS/$1.err" "$RUNS/$1.out"; do     # the JVM prints boot-layer errors on stdout
        [ -s "$f" ] || continue
        line="$(grep -m1 -E '^(error|internal error|Exception|  TIMEOUT|  not started)' "$f" || true)"
        [ -n "$line" ] || line="$(grep -v '^[[:space:]]*at ' "$f" | grep . | tail -1 || true)"
        [ -z "$line" ] || break
    done
    f="$RUNS/$1.err"
    echo "${line:-no message (see $f)}" | cut -c1-160
}

# the comparisons (python3, standard library only)
cat > "$WORK/compare.py" <<'EOF'
import json, sys

def load(path):
    """The JSON object a minitron command printed (the last line that is one)."""
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f.read().splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit("FAIL no JSON in " + path)
    return json.loads(lines[-1])

def maxdiff(a, b):
    """Largest |a - b|; inf for a length mismatch or a NaN (which the JSON carries as the string "NaN")."""
    if len(a) != len(b):
        return float("inf")
    diffs = (abs(float(x) - float(y)) for x, y in zip(a, b))
    return max((d if d == d else float("inf") for d in diffs), default=0.0)

def argmax(a):
    return max(range(len(a)), key=a.__getitem__)

cmd = sys.argv[1]
if cmd == "prompt":                      # golden idx -> writes the prompt text, prints "add_bos n_tokens"
    g = json.load(open(sys.argv[2], encoding="utf-8"))["prompts"][int(sys.argv[3])]
    open(sys.argv[4], "w", encoding="utf-8").write(g["text"])
    print(1 if g.get("add_bos", True) else 0, len(g["greedy_tokens"]))
elif cmd == "fixture":                   # golden idx tol score gen [java_score]
    golden, idx, tol, score, gen = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
    ref = sys.argv[7] if len(sys.argv) > 7 else None
    g = json.load(open(golden, encoding="utf-8"))["prompts"][idx]
    s, t = load(score), load(gen)
    ok, parts = True, []
    if s.get("prompt_tokens") != g["tokens"]:
        ok = False; parts.append("prompt ids differ from the reference")
    d = maxdiff(s["logits"], g["last_logits"])
    ok &= d <= tol
    parts.append("logits max abs diff %.2e vs reference (tol %g)" % (d, tol))
    if ref:
        dj = maxdiff(s["logits"], load(ref)["logits"])
        ok &= dj <= tol
        parts.append("%.2e vs java" % dj)
    want, got = g["greedy_tokens"], t.get("generated_tokens", [])
    same = sum(1 for x, y in zip(want, got) if x == y)
    first = next((i for i, (x, y) in enumerate(zip(want, got)) if x != y), None)
    ok &= got == want
    parts.append("greedy %d/%d tokens = reference%s" % (same, len(want), "" if first is None else " (first difference at %d)" % first))
    print(("PASS " if ok else "FAIL ") + "; ".join(parts))
elif cmd == "big":                       # cpu_score gpu_score tol
    a, b, tol = [float(v) for v in load(sys.argv[2])["logits"]], [float(v) for v in load(sys.argv[3])["logits"]], float(sys.argv[4])
    d = maxdiff(a, b)
    scale = max(abs(x) for x in a) or 1.0
    same = argmax(a) == argmax(b)
    ok = d / scale <= tol and same
    print(("PASS " if ok else "FAIL ") + "GPU vs CPU logits max abs diff %.3g = %.2e of max abs logit %.3g (tol %g); argmax %s" %
          (d, d / scale, scale, tol, "equal (%d)" % argmax(a) if same else "differs: %d vs %d" % (argmax(a), argmax(b))))
elif cmd == "bench":                     # bench.json [label] -> one line per row
    label = sys.argv[3] if len(sys.argv) > 3 else None
    for r in load(sys.argv[2])["rows"]:
        name = "%s %s %s" % (r["model"].replace(".gguf", ""), r["test"], label or (r["backend"] if r["backend"] != "java" else "java t%d" % r["threads"]))
        print("%s|%.2f tok/s = %.1f%% of the floor (%.2f tok/s at %.0f GB/s measured, %.2f GB/token)%s" % (
            name, r["tokens_per_s"], 100 * r["floor_fraction"], r["floor_tokens_per_s"], r["bandwidth_gb_s"],
            r["bytes_per_token"] / 1e9, "; %.0f GFLOP/s" % r["gflops"] if r["test"].startswith("pp") else ""))
EOF

# ---------------------------------------------------------------- c0: start synthesizing the big models now
SYNTH_PID=""
if [ "$BIG" = 1 ]; then
    step "c0: synthesizing $BIG_SHAPE ($BIG_DTYPES) in the background into $BIG_DIR"
    synth_all() {
        local d m log="$RUNS/synth.log"
        [ "$DRY" = 0 ] || log=/dev/stdout
        for d in $BIG_DTYPES; do
            m="$BIG_DIR/$BIG_SHAPE-$d.gguf"
            if [ -s "$m" ]; then echo "reused $m" >> "$RUNS/synth.log"; echo ok > "$RUNS/synth-$d.status"; continue; fi
            if run_limited 400 "synth-$d" none synth --shape "$BIG_SHAPE" --dtype "$d" --format gguf --out "$m" --no-progress \
                    >> "$log" 2>&1; then
                echo ok > "$RUNS/synth-$d.status"
            else
                echo "synth failed: $(first_error "synth-$d")" > "$RUNS/synth-$d.status"
            fi
        done
    }
    if [ "$DRY" = 1 ]; then
        synth_all
    else
        mkdir -p "$BIG_DIR"; rm -f "$RUNS"/synth-*.status "$RUNS/synth.log"
        synth_all & SYNTH_PID=$!; BG_PIDS+=("$SYNTH_PID")
        echo "  started (pid $SYNTH_PID); log: $RUNS/synth.log"
    fi
fi

# ---------------------------------------------------------------- a: GPU and TornadoVM devices
step "a: GPU and TornadoVM devices"
GPU_NAME=""
if command -v nvidia-smi >/dev/null 2>&1; then
    if [ "$DRY" = 1 ]; then
        echo "  \$ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader"
    else
        GPU_NAME="$(timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1 || true)"
        timeout 30 nvidia-smi 2>&1 | head -20 || true
    fi
    row a "GPU (nvidia-smi)" INFO "${GPU_NAME:-?}"
else
    row a "GPU (nvidia-smi)" INFO "no nvidia-smi on this machine"
fi

TORNADO=1
if [ "$CPU_ONLY" = 1 ]; then
    TORNADO=0; TORNADO_WHY="--cpu-only"
elif [ -z "$TH" ]; then
    TORNADO=0
elif run_limited 120 devices none devices; then
    if [ "$DRY" = 0 ]; then
        cat "$RUNS/devices.out"
        row a "minitron devices" PASS "$(head -1 "$RUNS/devices.out" 2>/dev/null | cut -c1-100)"
    fi
else
    TORNADO=0
    TORNADO_WHY="tornado backend unavailable: $(first_error devices | sed 's/^error: //')"
    cat "$RUNS/devices.err" 2>/dev/null || true
    row a "minitron devices" FAILED "$TORNADO_WHY"
fi
if [ "$TORNADO" = 0 ]; then
    case "$TORNADO_WHY" in
        --cpu-only) echo "tornado steps: SKIPPED (--cpu-only)" ;;
        *) echo "tornado steps: SKIPPED: $TORNADO_WHY" ;;
    esac
fi
BACKENDS="java"; [ "$TORNADO" = 0 ] || BACKENDS="java tornado"
skip_tornado() { # $1 = step, $2 = name
    [ "$TORNADO" = 1 ] || row "$1" "$2" SKIPPED "$([ "$TORNADO_WHY" = --cpu-only ] && echo "--cpu-only" || echo "tornado backend unavailable")"
}

# ---------------------------------------------------------------- b: fixtures vs reference, tornado vs java
step "b: fixtures against the float64 references (logits, greedy tokens)"
STEP_END=$B_END
for F in $FIXTURES; do
    spec="$(fixture_case "$F")" || { row b "$F" FAILED "unknown fixture case"; continue; }
    IFS='|' read -r model golden idx tol <<< "$spec"
    bos=1; ntok=20; ptext="$RUNS/$F.prompt"
    if [ "$DRY" = 0 ] && [ "$PY" = 1 ]; then
        read -r bos ntok < <(python3 "$WORK/compare.py" prompt "$golden" "$idx" "$ptext" || echo "1 20") || true
    fi
    [ "$DRY" = 0 ] || echo "  (prompt $idx of $golden)"
    nobos=(); [ "$bos" = 1 ] || nobos=(--no-bos)
    prompt="$(cat "$ptext" 2>/dev/null || echo "<prompt $idx>")"
    for B in java tornado $B_VARIANTS; do
        if [[ "$B" == tornado* ]] && [ "$TORNADO" = 0 ]; then skip_tornado b "$F $B"; continue; fi
        failed=""
        run_limited 90 "$F.$B.score" "$B" score -m "$model" -p "$prompt" "${nobos[@]}" --json || failed="$F.$B.score"
        if [ -z "$failed" ]; then
            run_limited 90 "$F.$B.gen" "$B" generate -m "$model" -p "$prompt" "${nobos[@]}" -n "$ntok" --temp 0 \
                --ignore-eos --json || failed="$F.$B.gen"
        fi
        if [ "$DRY" = 1 ]; then continue; fi
        if [ -n "$failed" ]; then
            row b "$F $B" FAILED "${failed##*.}: $(first_error "$failed")"
        elif [ "$PY" = 0 ]; then
            row b "$F $B" FAILED "ran, but no python3 to compare"
        else
            ref=(); [ "$B" = java ] || [ ! -s "$RUNS/$F.java.score.out" ] || ref=("$RUNS/$F.java.score.out")
            res="$(python3 "$WORK/compare.py" fixture "$golden" "$idx" "$tol" "$RUNS/$F.$B.score.out" "$RUNS/$F.$B.gen.out" "${ref[@]}" 2>&1 || true)"
            row b "$F $B" "${res%% *}" "${res#* }"
        fi
    done
done

# ---------------------------------------------------------------- c: the real 8B shape, GPU vs CPU
if [ "$BIG" = 1 ]; then
    step "c: $BIG_SHAPE, GPU vs CPU logits on \"$BIG_PROMPT\""
    STEP_END=$C_END
    BIG_MODELS=()
    for D in $BIG_DTYPES; do
        M="$BIG_DIR/$BIG_SHAPE-$D.gguf"
        if [ -n "$SYNTH_PID" ]; then   # each model as soon as it is written (the next one is synthesized meanwhile)
            echo "  waiting for $D (at most $(( $(remaining) - RESERVE - 60 ))s)..."
            while [ ! -f "$RUNS/synth-$D.status" ] && kill -0 "$SYNTH_PID" 2>/dev/null \
                    && [ "$(remaining)" -gt $((RESERVE + 60)) ]; do sleep 2; done
            if [ ! -f "$RUNS/synth-$D.status" ] && kill -0 "$SYNTH_PID" 2>/dev/null; then
                echo "  synthesis still running: given up"; kill_tree "$SYNTH_PID"
            fi
            cat "$RUNS/synth.log" 2>/dev/null || true; : > "$RUNS/synth.log"
        fi
        if [ "$DRY" = 0 ]; then
            st="$(cat "$RUNS/synth-$D.status" 2>/dev/null || echo "synth did not finish in time")"
            if [ "$st" != ok ]; then row c "$BIG_SHAPE $D" FAILED "$st"; continue; fi
            ls -l "$M" | awk '{ printf "  %s: %.2f GB\n", $NF, $5 / 1e9 }'
        fi
        BIG_MODELS+=("$M")
        okj=1; okg=1
        run_limited 240 "big-$D.java" java score -m "$M" -p "$BIG_PROMPT" --json || okj=0
        if [ "$TORNADO" = 1 ]; then
            run_limited 240 "big-$D.tornado" tornado score -m "$M" -p "$BIG_PROMPT" --json || okg=0
        fi
        [ "$DRY" = 0 ] || continue
        if [ "$okj" = 0 ]; then row c "$BIG_SHAPE $D java" FAILED "$(first_error "big-$D.java")"; fi
        if [ "$TORNADO" = 0 ]; then
            [ "$okj" = 0 ] || row c "$BIG_SHAPE $D java" PASS "CPU logits computed (no GPU run to compare)"
            skip_tornado c "$BIG_SHAPE $D tornado"
        elif [ "$okg" = 0 ]; then
            row c "$BIG_SHAPE $D tornado" FAILED "$(first_error "big-$D.tornado")"
        elif [ "$okj" = 1 ] && [ "$PY" = 1 ]; then
            res="$(python3 "$WORK/compare.py" big "$RUNS/big-$D.java.out" "$RUNS/big-$D.tornado.out" "$TOL_BIG" 2>&1 || true)"
            row c "$BIG_SHAPE $D tornado vs java" "${res%% *}" "${res#* }"
        fi
    done

# ---------------------------------------------------------------- d: speed against the bandwidth floor
    step "d: prefill and decode speed against the memory-bandwidth floor"
    STEP_END=100
    if [ "${#BIG_MODELS[@]}" = 0 ]; then
        row d "bench" SKIPPED "no $BIG_SHAPE model"
    else
        list="$(IFS=,; echo "${BIG_MODELS[*]}")"
        for B in $D_RUNS; do
            if [[ "$B" == tornado* || "$B" == profile* ]] && [ "$TORNADO" = 0 ]; then skip_tornado d "bench $B"; continue; fi
            if [[ "$B" == profile* ]]; then       # profile, profile-loops, ...: the variant's per-task table
                v="tornado${B#profile}"
                if run_limited 200 "$B" "$v" generate -m "${BIG_MODELS[0]}" -p "$BIG_PROMPT" -n 16 --temp 0 --ignore-eos --profile; then
                    [ "$DRY" = 1 ] || { { echo "== $B ($v)"; sed -n '/tornado profile/,$p' "$RUNS/$B.err"; } >> "$RESULTS/profile.txt"
                                        sed -n '/tornado profile/,$p' "$RUNS/$B.err"
                                        row d "$B $(basename "${BIG_MODELS[0]}" .gguf)" INFO "per-task table in profile.txt"; }
                else
                    [ "$DRY" = 1 ] || row d "$B" FAILED "$(first_error "$B")"
                fi
                continue
            fi
            m="$list"
            # shellcheck disable=SC2086
            case "$B" in
                java) args=($CPU_BENCH) ;;
                tornado) args=($GPU_BENCH) ;;
                *) args=($VARIANT_BENCH); m="${BIG_MODELS[0]}" ;;   # the other variants: the first model, lighter
            esac
            if run_limited 300 "bench-$B" "$B" bench -m "$m" "${args[@]}" --json; then
                [ "$DRY" = 1 ] && continue
                cp "$RUNS/bench-$B.out" "$RESULTS/bench-$B.json"
                label=(); [ "$B" = java ] || label=("$B")
                if [ "$PY" = 1 ]; then
                    while IFS='|' read -r n d; do row d "$n" INFO "$d"; done \
                        < <(python3 "$WORK/compare.py" bench "$RUNS/bench-$B.out" "${label[@]}" 2>&1 || echo "bench $B|could not read the JSON")
                else
                    row d "bench $B" PASS "see $RESULTS/bench-$B.json"
                fi
            else
                [ "$DRY" = 1 ] || row d "bench $B" FAILED "$(first_error "bench-$B")"
            fi
        done
    fi
fi

# ---------------------------------------------------------------- e: the table, last
if [ "$DRY" = 1 ]; then echo; echo "(dry run: the table of results is printed here)"; exit 0; fi
print_table
for r in "${ROWS[@]}"; do case "$r" in *"|FAILED|"*|*"|FAIL|"*) exit 1 ;; esac; done
exit 0
