"""Where a workflow run's time went, from Snakemake's log: job seconds per rule and which rules ran in each minute.

Reads the log Snakemake writes (`.snakemake/log/*.snakemake.log`, or its console output saved to a file): every job
start ("[date]" then "rule NAME:" / "localrule NAME:" and "jobid: N") and finish ("[date]" then "Finished jobid:
N"). Prints the wall time, then per rule the number of jobs, their summed seconds and their share, then one line per
minute of the run naming the rules that had a job running in it (with how many), so the critical path is visible:

    python dev/run_timeline.py .snakemake/log/2026-12-01T232523.123456.snakemake.log
"""

import argparse
import re
from collections import Counter, defaultdict
from datetime import datetime

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISH = re.compile(r"^Finished jobid: (\d+)")


def parse(lines):
    """Jobs of a Snakemake log: {jobid: (rule, start, end)} (datetimes; end None for an unfinished job)."""
    stamp, rule, jobs = None, None, {}
    for line in lines:
        line = line.rstrip("\n")
        if m := STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := START.match(line):
            rule = m.group(1)
        elif (m := JOBID.match(line)) and rule is not None:
            jobs[int(m.group(1))] = [rule, stamp, None]
            rule = None
        elif (m := FINISH.match(line)) and int(m.group(1)) in jobs:
            jobs[int(m.group(1))][2] = stamp
    return {job: tuple(v) for job, v in jobs.items()}


def per_rule(jobs):
    """{rule: (job count, summed seconds)}, most seconds first (finished jobs)."""
    seconds, count = defaultdict(float), Counter()
    for rule, start, end in jobs.values():
        if end is not None:
            seconds[rule] += (end - start).total_seconds()
            count[rule] += 1
    return {rule: (count[rule], seconds[rule]) for rule in sorted(seconds, key=seconds.get, reverse=True)}


def minutes(jobs):
    """[(minute index, Counter of rules with a job running during that minute)] from the first start."""
    finished = [(r, s, e) for r, s, e in jobs.values() if e is not None]
    t0 = min(s for _, s, _ in finished)
    t1 = max(e for _, _, e in finished)
    rows = []
    for minute in range(int((t1 - t0).total_seconds() // 60) + 1):
        lo, hi = 60 * minute, 60 * (minute + 1)
        running = Counter(r for r, s, e in finished
                          if (s - t0).total_seconds() < hi and (e - t0).total_seconds() > lo)
        rows.append((minute, running))
    return rows


def report(jobs):
    finished = [(s, e) for _, s, e in jobs.values() if e is not None]
    wall = (max(e for _, e in finished) - min(s for s, _ in finished)).total_seconds()
    table = per_rule(jobs)
    total = sum(sec for _, sec in table.values())
    lines = [f"wall {wall / 60:.1f} min ({wall:.0f} s), {len(finished)} jobs finished, "
             f"{total:.0f} job-seconds ({total / max(wall, 1):.2f} jobs running on average)",
             f"{'rule':<22}{'jobs':>5}{'seconds':>9}{'share':>7}"]
    lines += [f"{rule:<22}{n:>5}{sec:>9.0f}{sec / total:>7.0%}" for rule, (n, sec) in table.items()]
    lines.append("minute: rules running (jobs)")
    for minute, running in minutes(jobs):
        lines.append(f"{minute:>4}  " + ", ".join(f"{r}" + (f" x{n}" if n > 1 else "")
                                              for r, n in running.most_common()))
    return "\n".join(lines)


def cli():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", help="a Snakemake log (.snakemake/log/*.snakemake.log or saved console output)")
    args = p.parse_args()
    with open(args.log) as f:
        print(report(parse(f)))


if __name__ == "__main__":
    cli()
