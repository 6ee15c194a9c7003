#!/usr/bin/env bash
# The standard speed experiment: for every shape x dtype, synthesize the model if absent, run `minitron bench`
# over a range of CPU thread counts (and the TornadoVM backend where it exists), collect one CSV, draw the
# charts and print a markdown summary.
#
#   bench/experiment.sh                                   # Minitron-4B and 8B shapes, bf16 q8_0 q4_0, 1..nproc threads
#   SHAPES=tiny DTYPES="bf16 q8_0" THREADS=1,2 REPS=1 N=4 P=8 bench/experiment.sh    # smoke run, about a minute
#
# Settings (environment variable or flag):
#   MODELS_DIR  --models-dir DIR   where the synthetic models are kept (default /tmp/minitron-models)
#   OUT         --out DIR          results folder (default bench/results/<date>-<hostname>); bench.csv is appended to
#   THREADS     --threads LIST     thread counts: "1..nproc" (default), "1..8", "1,2,4,8", "1..4,8,16"
#   SHAPES      --shapes "A B"     minitron-4b, minitron-8b, tiny or config.json paths (default "minitron-4b minitron-8b")
#   DTYPES      --dtypes "A B"     bf16, f16, f32, q8_0, q4_0, q4_k_m (default "bf16 q8_0 q4_0")
#   REPS        --reps N           timed repetitions per test (default 3)
#   P           -p N               prompt tokens of the prefill test (default 128)
#   N           -n N               generated tokens of the decode test (default 32)
#   BF16_FORMAT --bf16-format F    gguf (default) or hf: how bf16/f16/f32 models are written
#
# Writes into OUT: bench.csv (one header), bench.log (stderr of the runs), machine.json (the machine block of
# `minitron bench --json`), experiment.txt (settings, commit, GPU), the PNG charts and table.md.
# Models are synthesized once and reused; each needs its size in free disk (Minitron-8B bf16: ~17 GB) and,
# for a meaningful decode number, in free RAM. Exit status: 0, or 1 if a benchmark failed (charts of the rest
# are still drawn), 2 for bad settings.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/setvars.sh"
MT="$ROOT/bin/minitron"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "experiment.sh: $*" >&2; exit 2; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --models-dir) MODELS_DIR="${2:?}"; shift 2 ;;
        --out) OUT="${2:?}"; shift 2 ;;
        --threads|-t) THREADS="${2:?}"; shift 2 ;;
        --shapes) SHAPES="${2:?}"; shift 2 ;;
        --dtypes) DTYPES="${2:?}"; shift 2 ;;
        --reps|-r) REPS="${2:?}"; shift 2 ;;
        -p) P="${2:?}"; shift 2 ;;
        -n) N="${2:?}"; shift 2 ;;
        --bf16-format) BF16_FORMAT="${2:?}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done

MODELS_DIR="${MODELS_DIR:-/tmp/minitron-models}"
OUT="${OUT:-$ROOT/bench/results/$(date +%Y-%m-%d)-$(hostname -s 2>/dev/null || hostname)}"
THREADS="${THREADS:-1..nproc}"
SHAPES="${SHAPES:-minitron-4b minitron-8b}"
DTYPES="${DTYPES:-bf16 q8_0 q4_0}"
REPS="${REPS:-3}"
P="${P:-128}"
N="${N:-32}"
BF16_FORMAT="${BF16_FORMAT:-gguf}"

for v in REPS P N; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"; done
[ "$REPS" -ge 1 ] || die "REPS must be >= 1"
[ "$P" -gt 0 ] || [ "$N" -gt 0 ] || die "P and N cannot both be 0"
case "$BF16_FORMAT" in gguf|hf) ;; *) die "BF16_FORMAT must be gguf or hf, got '$BF16_FORMAT'" ;; esac

# "1..nproc" -> "1,2,...,N"; also "1..8", "1,2,4", "1..4,8"
expand_threads() {
    local cores part out=() i
    cores="$(nproc)"
    IFS=',' read -ra parts <<< "${1// /}"
    for part in "${parts[@]}"; do
        part="${part//nproc/$cores}"
        if [[ "$part" =~ ^([0-9]+)\.\.([0-9]+)$ ]]; then
            for ((i = BASH_REMATCH[1]; i <= BASH_REMATCH[2]; i++)); do out+=("$i"); done
        elif [[ "$part" =~ ^[0-9]+$ ]]; then
            out+=("$part")
        else
            die "THREADS: cannot read '$part' (expected e.g. 1..nproc, 1..8 or 1,2,4)"
        fi
    done
    [ "${#out[@]}" -gt 0 ] || die "THREADS is empty"
    for i in "${out[@]}"; do [ "$i" -ge 1 ] || die "THREADS: thread counts start at 1"; done
    (IFS=','; echo "${out[*]}")
}
TLIST="$(expand_threads "$THREADS")"

# Estimated size in GB of a synthesized model (empty if the shape is not a preset): parameters x bytes/parameter.
model_gb() {
    local params bpp
    case "$1" in
        minitron-8b) params=8.27 ;;  # 2 x 256000 x 4096 embedding/lm_head + 32 layers of 193 M
        minitron-4b) params=4.19 ;;  # 2 x 256000 x 3072 + 32 layers of 82 M
        tiny) params=0.034 ;;
        *) return 0 ;;
    esac
    case "$2" in
        f32) bpp=4 ;; bf16|f16) bpp=2 ;; q8_0) bpp=1.0625 ;; q4_0) bpp=0.5625 ;; q4_k_m) bpp=0.66 ;; *) return 0 ;;
    esac
    awk -v p="$params" -v b="$bpp" 'BEGIN { printf "%.2f", p * b }'
}
free_gb() { df -Pk "$1" | awk 'NR == 2 { printf "%.2f", $4 * 1024 / 1e9 }'; }
avail_ram_gb() { awk '/^MemAvailable:/ { printf "%.2f", $2 * 1024 / 1e9 }' /proc/meminfo 2>/dev/null || true; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

mkdir -p "$MODELS_DIR" "$OUT"
CSV="$OUT/bench.csv"
BENCH_LOG="$OUT/bench.log"
TMP="$(mktemp "$OUT/.run.XXXXXX")"
TMP_ERR="$(mktemp "$OUT/.err.XXXXXX")"
trap 'rm -f "$TMP" "$TMP_ERR"' EXIT

log "building (if needed): $("$MT" --version)"
GPU="$(command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | paste -sd ';' - || true)"
NOTES=()
FAILED=0
TORNADO=unknown
if [ -z "${TORNADOVM_HOME:-}" ]; then
    TORNADO=no
    NOTES+=("GPU backend: not run (TORNADOVM_HOME is not set)${GPU:+; GPU present: $GPU}")
fi

{
    echo "date: $(date -Iseconds)"
    echo "host: $(hostname)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
    echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
    echo "JAVA_OPTS: ${JAVA_OPTS:-}"
    echo "threads: $TLIST"
    echo "shapes: $SHAPES"
    echo "dtypes: $DTYPES"
    echo "reps: $REPS  p: $P  n: $N"
    echo "models: $MODELS_DIR (bf16/f16/f32 as $BF16_FORMAT)"
    echo "gpu: ${GPU:-none found}"
    echo "tornadovm: ${TORNADOVM_HOME:-not set}"
} > "$OUT/experiment.txt"

# Runs `minitron bench "$@" --csv` and appends its rows to bench.csv (the header only once).
# Returns non-zero (and leaves the first error line in $TMP_ERR) if the run failed.
bench_csv() {
    local rc=0
    "$MT" bench "$@" --csv > "$TMP" 2> "$TMP_ERR" || rc=$?
    cat "$TMP_ERR" >> "$BENCH_LOG"
    [ "$rc" -eq 0 ] || return 1
    cat "$TMP_ERR" >&2  # warnings
    local header
    header="$(head -1 "$TMP")"
    if [ ! -s "$CSV" ]; then
        cat "$TMP" > "$CSV"
    elif [ "$(head -1 "$CSV")" = "$header" ]; then
        tail -n +2 "$TMP" >> "$CSV"
    else
        echo "experiment.sh: $CSV has another header than this bench run writes; use a new OUT" > "$TMP_ERR"
        return 1
    fi
}

for S in $SHAPES; do
    name="${S##*/}"; name="${name%.json}"
    [ "$name" != config ] || name="$(basename "$(dirname "$S")")"
    for D in $DTYPES; do
        D="${D,,}"
        case "$D" in
            q8_0|q4_0|q4_k_m) fmt=gguf ;;
            bf16|f16|f32) fmt="$BF16_FORMAT" ;;
            *) NOTES+=("$name $D: skipped (dtype not one of bf16 f16 f32 q8_0 q4_0 q4_k_m)"); log "${NOTES[-1]}"; continue ;;
        esac
        if [ "$fmt" = gguf ]; then model="$MODELS_DIR/$name-$D.gguf"; else model="$MODELS_DIR/$name-$D"; fi
        gb="$(model_gb "$S" "$D")"
        if [ ! -e "$model" ]; then
            free="$(free_gb "$MODELS_DIR")"
            if [ -n "$gb" ] && gt "$(awk -v g="$gb" 'BEGIN { print g + 1 }')" "$free"; then
                NOTES+=("$name $D: skipped, needs ~$gb GB on $MODELS_DIR and only $free GB are free")
                log "${NOTES[-1]}"
                continue
            fi
            log "synthesizing $model (~${gb:-?} GB)"
            progress=()
            [ -t 2 ] || progress=(--no-progress)
            if ! "$MT" synth --shape "$S" --dtype "$D" --format "$fmt" --out "$model" "${progress[@]}" >/dev/null; then
                NOTES+=("$name $D: synth failed"); log "${NOTES[-1]}"; FAILED=1; continue
            fi
        fi
        ram="$(avail_ram_gb)"
        if [ -n "$gb" ] && [ -n "$ram" ] && gt "$gb" "$ram"; then
            NOTES+=("$name $D: ~$gb GB does not fit in the $ram GB of available RAM: decode is limited by the disk, not memory bandwidth")
            log "warning: ${NOTES[-1]}"
        fi
        if [ ! -s "$OUT/machine.json" ]; then
            # the machine block of --json, once (a minimal run: one decoded token)
            if json="$("$MT" bench -m "$model" -t 1 -p 0 -n 1 -r 1 --json 2>>"$BENCH_LOG")"; then
                machine="$(sed -n 's/^{"machine":\({[^}]*}\).*/\1/p' <<< "$json")"
                echo "${machine:-$json}" > "$OUT/machine.json"
            fi
        fi
        log "bench $model  threads $TLIST  p=$P n=$N reps=$REPS"
        echo "== bench $model -t $TLIST -p $P -n $N -r $REPS" >> "$BENCH_LOG"
        if ! bench_csv -m "$model" -t "$TLIST" -p "$P" -n "$N" -r "$REPS"; then
            NOTES+=("$name $D java: bench failed: $(grep -m1 . "$TMP_ERR" || echo 'no message')")
            log "${NOTES[-1]}"
            FAILED=1
        fi
        if [ "$TORNADO" != no ]; then
            log "bench $model  backend tornado"
            echo "== bench $model --backend tornado -p $P -n $N -r $REPS" >> "$BENCH_LOG"
            if bench_csv -m "$model" --backend tornado -p "$P" -n "$N" -r "$REPS"; then
                TORNADO=yes
            elif [ "$TORNADO" = unknown ]; then
                # the first try tells whether this build has the backend at all: a note, not a failure
                TORNADO=no
                NOTES+=("GPU backend: not run, this build says: $(grep -m1 . "$TMP_ERR" || echo 'no message')${GPU:+ (GPU present: $GPU)}")
                log "${NOTES[-1]}"
            else
                NOTES+=("$name $D tornado: bench failed: $(grep -m1 . "$TMP_ERR" || echo 'no message')")
                log "${NOTES[-1]}"
                FAILED=1
            fi
        fi
    done
done

if [ ! -s "$CSV" ] || [ "$(wc -l < "$CSV")" -lt 2 ]; then
    for n in "${NOTES[@]}"; do echo "- $n"; done
    echo "experiment.sh: no results in $CSV, nothing to plot" >&2
    exit 1
fi

log "plotting into $OUT"
"$MT" plot --csv "$CSV" --out "$OUT" | sed 's/^/wrote /' >&2
{
    echo
    echo "Settings: threads $TLIST, pp$P, tg$N, median of $REPS timed runs after a warm-up; commit $(sed -n 's/^commit: //p' "$OUT/experiment.txt")."
    for n in "${NOTES[@]}"; do echo "- $n"; done
} >> "$OUT/table.md"
echo
cat "$OUT/table.md"
exit "$FAILED"
