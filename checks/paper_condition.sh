#!/usr/bin/env bash
# Paper-scale check of one condition on a GPU machine, through the step scripts' command lines:
# corpus -> 16 simulation shards in parallel -> gather -> train one model (CHECK_MODEL, default loc_cnn; CUDA) -> evaluate -> relevance ->
# manipulation -> TDoA. Prints the time of each stage; logs and results go to ${OUT:-check-out}.
set -euo pipefail
export PYTHONUNBUFFERED=1
cfg=${CHECK_CONFIG:-checks/paper_condition.yaml}
cond=${CHECK_COND:-SNR_25_T60_0.15}
model=${CHECK_MODEL:-loc_cnn}
out=${OUT:-check-out}
mkdir -p "$out" results/data results/models/$model results/eval
step() { local name=$1; shift; local t0=$SECONDS; "$@" >>"$out/log.txt" 2>&1; echo "$name: $((SECONDS - t0)) s" | tee -a "$out/times.txt"; }
s=workflow/scripts
step corpus python3 $s/corpus.py --config $cfg --out results/corpus.h5
step simulate bash -c "seq 0 15 | xargs -P 16 -I{} python3 $s/simulate_shard.py --config $cfg --corpus results/corpus.h5 --cond $cond --shard {} --out results/data/$cond-{}.h5"
step gather python3 $s/gather_dataset.py --config $cfg --cond $cond --out results/data/$cond.h5 results/data/$cond-{0..15}.h5
rm -f results/data/$cond-*.h5
step train python3 $s/train.py --config $cfg --model $model --cond $cond --data results/data/$cond.h5 --out results/models/$model/$cond.pth --threads 8 --log "$out/train.log"
step evaluate python3 $s/evaluate.py --config $cfg --model $model --cond $cond --data results/data/$cond.h5 --checkpoint results/models/$model/$cond.pth --outdir results/eval
cp results/eval/summary.json results/models/$model/$cond.csv "$out/"
step relevance python3 $s/relevance.py --config $cfg --model $model --data results/data/$cond.h5 --checkpoint results/models/$model/$cond.pth --out results/relevance.h5
step manipulation python3 $s/manipulation.py --config $cfg --model $model --cond $cond --data results/data/$cond.h5 --checkpoint results/models/$model/$cond.pth --relevance results/relevance.h5 --out "$out/manipulation.json"
step tdoa python3 $s/tdoa.py --config $cfg --cond $cond --data results/data/$cond.h5 --relevance $model=results/relevance.h5 --out "$out/tdoa.json"
cp results/eval/summary.json results/models/$model/$cond.csv "$out/"
