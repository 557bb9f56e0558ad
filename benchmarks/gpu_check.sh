#!/usr/bin/env bash
# The one prepared GPU check: `bash benchmarks/gpu_check.sh [OUT_DIR]` on a CUDA machine.
#
# Runs, on the bundled MNIST sample (no download):
#   1. `specc run` of specs/mnist.nn (MLP) and specs/cnn.nn (CNN) with --device cuda in
#      fp32, bf16 and fp16, --compile off, auto and on (compile time reported apart);
#   2. the emitted PyTorch script of specs/cnn.nn with --device cuda;
#   3. a single-rank NCCL run: torchrun --nproc-per-node 1 -m specc run specs/mnist.nn.
# Each result is a JSON line in OUT_DIR/results.jsonl, and OUT_DIR/summary.md is the table
# docs/performance.md takes. A step that fails is recorded as failed with its exit status and
# the rest still run; the script exits 1 if any failed.
#
# DEVICE=cpu bash benchmarks/gpu_check.sh smoke-tests the script itself on a machine without
# a GPU (fp16 and NCCL are skipped there: they are CUDA only).
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
OUT=${1:-${OUT:-/tmp/specc-gpu-check}}
EPOCHS=${EPOCHS:-2}
SAMPLE=$(python -c "from specc.resources import bundled_dataset as b; print(b('mnist_sample'))")
mkdir -p "$OUT"
: > "$OUT/results.jsonl"
failed=0

record() {  # record NAME STATUS START END OUTPUT_FILE
    python - "$@" >> "$OUT/results.jsonl" <<'PY'
import json, sys
name, status, path = sys.argv[1], int(sys.argv[2]), sys.argv[5]
seconds = float(sys.argv[4]) - float(sys.argv[3])
row = {"name": name, "status": status, "wall_seconds": round(seconds, 2)}
if path:
    try:
        lines = [l for l in open(path).read().splitlines() if l.startswith("{")]
        row["result"] = json.loads(lines[-1]) if lines else None
    except OSError:
        row["result"] = None
print(json.dumps(row))
PY
}

step() {  # step NAME COMMAND...: run it, keep its output, record status and wall time
    local name=$1; shift
    local start end status
    start=$(date +%s.%N)
    "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
    status=$?
    end=$(date +%s.%N)
    [ $status -ne 0 ] && failed=1 && echo "FAILED ($status): $name (see $OUT/$name.err)"
    record "$name" "$status" "$start" "$end" "$OUT/$name.out"
    echo "done: $name ($status)"
}

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi" > "$OUT/nvidia-smi.txt"
python -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available())" \
    > "$OUT/torch.txt" 2>&1

precisions=(fp32 bf16 fp16)
[ "$DEVICE" = cpu ] && precisions=(fp32 bf16)
for spec in mnist cnn; do
    for precision in "${precisions[@]}"; do
        for compile in off auto on; do
            step "run-$spec-$precision-compile-$compile" python -m specc run "specs/$spec.nn" \
                --data mnist_sample --device "$DEVICE" --precision "$precision" \
                --compile "$compile" --epochs "$EPOCHS" --json --out "$OUT/runs/$spec-$precision-$compile"
        done
    done
done

python -m specc emit specs/cnn.nn --target pytorch -o "$OUT/cnn_pytorch.py" > /dev/null
step "emitted-cnn-pytorch" python "$OUT/cnn_pytorch.py" --device "$DEVICE" \
    --data-dir "$SAMPLE" --epochs "$EPOCHS" --out "$OUT/emitted"

if [ "$DEVICE" != cpu ]; then
    step "nccl-single-rank-mnist" torchrun --standalone --nproc-per-node 1 -m specc run \
        specs/mnist.nn --data mnist_sample --device cuda --epochs "$EPOCHS" --json \
        --out "$OUT/runs/nccl"
fi

python - "$OUT" <<'PY' > "$OUT/summary.md"
import json, sys
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/results.jsonl")]
print("| step | exit | wall s | train s | compile s | test accuracy |")
print("| --- | --- | --- | --- | --- | --- |")
for r in rows:
    res = r.get("result") or {}
    acc = (res.get("metrics") or {}).get("test_accuracy", "")
    print(f"| {r['name']} | {r['status']} | {r['wall_seconds']} | {res.get('train_seconds', '')} "
          f"| {res.get('compile_seconds', '')} | {acc} |")
PY
cat "$OUT/summary.md"
exit $failed
