#!/usr/bin/env bash
# tests/cluster/slurm.sh — the pipelines on a real single-node Slurm cluster
# (make test-slurm; README "Running on a cluster").
#
#   bash tests/cluster/slurm.sh [PART...]    PART: nextflow snakemake snakemake7 gpu (default: all)
#   KEEP=1 bash tests/cluster/slurm.sh ...    keep the temporary directory (logs, sacct, results)
#   bash tests/cluster/slurm.sh 'run=CMD'     CMD on the running cluster (SLURM_CONF set), then stop it
#   AGENTOMICS_SLURM_VENV=DIR                 the venv with snakemake + the Slurm plugin [/tmp/agentomics-slurm-venv;
#                                             made with pip when missing]
#
# Installs Debian 12's Slurm 22.05 (slurmctld, slurmd, slurm-client, slurmdbd),
# munge and MariaDB when missing (apt-get, services kept from starting), and
# starts a private cluster in a temporary directory: munged, mariadbd (for
# slurmdbd, so that sacct reports every job), slurmdbd, slurmctld and slurmd,
# all as background processes of this test with their PID files there, on
# free ports bound to 127.0.0.1 where the daemon allows it, and stopped by
# PID when the test ends, whatever happens (trap). No system service, file
# under /etc or system socket is used: every daemon and client reads
# $W/etc/slurm.conf (SLURM_CONF) and the munge socket in $W. The node is
# `hostname -s` with this machine's CPUs and its memory less a reserve for
# the host; cgroup-free plugins (proctrack/linuxproc, task/none) so it runs
# in a container or a VM without systemd; select/cons_tres with
# CR_Core_Memory, so CPU and memory requests are allocated and recorded.
# One partition `batch` and one account `agentomics_test`, both given
# explicitly by the runs the way the README tells users to (Nextflow:
# -process.queue and SBATCH_ACCOUNT; Snakemake: slurm_partition and
# slurm_account default resources).
#
# Checks, on the bundled slice (the workflows' test profile/config: 2 lineages,
# 2 iterations):
#   nextflow   -profile test,slurm: every task but the agent steps ran as a
#              Slurm job (sacct), with the CPUs, memory and time limit the
#              trace says its label asked for, in partition batch under
#              account agentomics_test; the first train-run job is cancelled
#              with scancel while it runs and Nextflow retries it (exit 143);
#              two lineages' train-run jobs ran at the same time; the outputs;
#              then -resume recomputes nothing and submits no job.
#   snakemake  the current Snakemake from PyPI with
#              snakemake-executor-plugin-slurm (--executor slurm): the same
#              checks, the resources from the rules' threads, mem_mb and
#              runtime; the cancelled job is resubmitted (--retries 1; status
#              from squeue: plugin 2.8.0 does not match sacct's "CANCELLED by
#              UID" and would wait for ever); a second invocation has nothing
#              to do and submits no job.
#   snakemake7 Debian's Snakemake 7.21 with --slurm: the full run and the same
#              sacct checks, no job cancelled (7.21 has the same sacct match).
#   gpu        the gpu requests: Nextflow -profile test,slurm,gpu -stub-run and
#              Snakemake --config gpus=1 on a node that advertises one
#              gres/gpu whose device file is /dev/null (nothing runs on a GPU):
#              only train-run asks for (and is allocated) a GPU, --gres=gpu:1
#              resp. --gpus=1 on its sbatch line, nothing else does.
# Exit 0 when every check passed, 1 when one failed, 77 when the cluster
# cannot be set up here (not root, packages unavailable, a daemon that does
# not start: the reason is printed).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PARTS=("$@")
[ $# -gt 0 ] || PARTS=(nextflow snakemake snakemake7 gpu)
KEEP=${KEEP:-0}
BIN=${AO_TEST_BIN:-$ROOT/bin}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
START=$SECONDS
N_OK=0
N_FAIL=0
ok()     { N_OK=$((N_OK + 1)); echo "ok - $*"; }
not_ok() { N_FAIL=$((N_FAIL + 1)); echo "not ok - $*"; }
skip()   { echo "# SKIP slurm test: $*"; exit 77; }
note()   { echo "# $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (installs Slurm, and slurmd starts jobs as their user)"
for t in prepare-data agent-step train-run reflect select package-model predict evaluate; do
    [ -x "$BIN/agentomics-$t" ] || { echo "not ok - $BIN/agentomics-$t is not built (make)"; exit 1; }
done

# ---- packages ----------------------------------------------------------------
PKGS="slurmctld slurmd slurm-client slurmdbd munge mariadb-server"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    note "installing$missing (apt-get; their services are kept from starting)"
    own_policy=0
    # a policy-rc.d that denies every start, unless the machine has one
    # (Docker images ship one): the packages' services must not start
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# agentomics tests/cluster/slurm.sh: no service starts while it installs Slurm\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d; own_policy=1
    fi
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/tmp/agentomics-slurm-apt.log 2>&1; then
        apt-get update -qq >>/tmp/agentomics-slurm-apt.log 2>&1
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>/tmp/agentomics-slurm-apt.log 2>&1
    fi
    [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    for p in $missing; do
        dpkg -s "$p" >/dev/null 2>&1 || skip "could not install $p with apt-get (log: /tmp/agentomics-slurm-apt.log)"
    done
fi

# ---- the cluster -------------------------------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/agentomics-slurm.XXXXXX")
chmod 0755 "$W"
mkdir -p "$W/etc" "$W/run" "$W/log" "$W/munge" "$W/ctld" "$W/spool" "$W/db"
export SLURM_CONF=$W/etc/slurm.conf
WATCHERS=""
CHILD=""
# run_logged LOG CMD...: CMD in the background with its output in LOG, waited
# for, so that a signal to this test reaches the trap at once (which then
# stops CMD: timeout passes the signal on to the engine, which cancels its jobs)
run_logged() { local log=$1; shift; "$@" >"$log" 2>&1 & CHILD=$!; wait "$CHILD"; local rc=$?; CHILD=""; return "$rc"; }

# Stops what this test started, by PID, in reverse order: the jobs still in
# the queue (scancel), slurmd, slurmctld, slurmdbd, mariadbd, munged.
stop_cluster() {
    local d pid i ids
    for pid in $WATCHERS; do kill "$pid" 2>/dev/null; done
    if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD" 2>/dev/null; fi
    if [ -s "$W/run/slurmctld.pid" ] && kill -0 "$(cat "$W/run/slurmctld.pid")" 2>/dev/null; then
        ids=$(squeue -h -o %i 2>/dev/null)
        # shellcheck disable=SC2086
        if [ -n "$ids" ]; then scancel $ids 2>/dev/null; for i in $(seq 30); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 1; done; fi
    fi
    for d in slurmd slurmctld slurmdbd mariadbd munged; do
        pid=$(cat "$W/run/$d.pid" 2>/dev/null) || continue
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
}
finish() {
    local rc=$?
    trap - EXIT
    trap '' INT TERM     # the cleanup itself is not interrupted
    stop_cluster
    if [ "$KEEP" = 1 ] || { [ "$rc" != 0 ] && [ "$rc" != 77 ]; }; then echo "# kept: $W"; else rm -rf "$W"; fi
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_fail WHAT LOG: the cluster could not start here: environmental, exit 77
start_fail() { note "$1 did not start; the end of $2:"; tail -15 "$2" 2>/dev/null | sed 's/^/#   /'; skip "$1 did not start in this environment"; }
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() { local n=$(( $1 * 5 )); shift; while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; n=$((n - 1)); done; return 1; }

read -r P_CTLD P_SLURMD P_DBD P_SQL < <("$PY" -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
# the host keeps a quarter of the memory, at least 2 GB
RESERVE=$(( MEM_MB / 4 > 2048 ? MEM_MB / 4 : 2048 ))
REAL_MB=$(( MEM_MB - RESERVE ))
[ "$REAL_MB" -ge 2048 ] || skip "only $MEM_MB MB of memory: too little for a node with 2 GB jobs"
# every job fits twice on the node (two lineages side by side): the largest
# request of the test profile (6 GB) is capped to half the node
MAX_MEM_GB=$(( REAL_MB / 2 / 1024 )); [ "$MAX_MEM_GB" -gt 6 ] && MAX_MEM_GB=6
[ "$MAX_MEM_GB" -ge 2 ] || MAX_MEM_GB=2
GPU=0; case " ${PARTS[*]} " in *" gpu "*) GPU=1 ;; esac

dd if=/dev/urandom of="$W/etc/munge.key" bs=1024 count=1 2>/dev/null && chmod 0400 "$W/etc/munge.key"
MUNGE_SOCKET=$W/munge/munge.socket
munged --force --socket="$MUNGE_SOCKET" --key-file="$W/etc/munge.key" --pid-file="$W/run/munged.pid" \
    --log-file="$W/log/munged.log" --seed-file="$W/munge/seed" >>"$W/log/munged.log" 2>&1 || start_fail munged "$W/log/munged.log"
wait_for 10 test -S "$MUNGE_SOCKET" || start_fail munged "$W/log/munged.log"

# MariaDB for slurmdbd: a private data directory, TCP on 127.0.0.1 only
mariadb-install-db --no-defaults --datadir="$W/db" --user=root --auth-root-authentication-method=normal --skip-test-db \
    >"$W/log/mariadb-install-db.log" 2>&1 || start_fail mariadb-install-db "$W/log/mariadb-install-db.log"
setsid mariadbd --no-defaults --datadir="$W/db" --socket="$W/run/mariadbd.sock" --pid-file="$W/run/mariadbd.pid" \
    --bind-address=127.0.0.1 --port="$P_SQL" --user=root --log-error="$W/log/mariadbd.log" \
    --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
wait_for 30 test -S "$W/run/mariadbd.sock" && wait_for 10 test -s "$W/run/mariadbd.pid" || start_fail mariadbd "$W/log/mariadbd.log"

# Every daemon and client finds munge through AuthInfo; the connections to
# slurmdbd through AccountingStoragePass (its documented use: a munge socket).
cat >"$W/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$P_DBD
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$P_SQL
StorageUser=root
StorageLoc=slurm_acct_db
PidFile=$W/run/slurmdbd.pid
LogFile=$W/log/slurmdbd.log
EOF
chmod 0600 "$W/etc/slurmdbd.conf"
cat >"$W/etc/slurm.conf" <<EOF
# agentomics tests/cluster/slurm.sh: a single-node cluster of this machine
ClusterName=agentomics
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$P_CTLD
SlurmdPort=$P_SLURMD
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$W/ctld
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/run/slurmctld.pid
SlurmdPidFile=$W/run/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
# no cgroups: a container or a VM without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=10
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$P_DBD
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
KillWait=5
# gpu part: the node says it has one GPU (slurm.conf wins over what slurmd finds)
$( [ "$GPU" = 1 ] && printf 'GresTypes=gpu\nSlurmdParameters=config_overrides' )
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MB $( [ "$GPU" = 1 ] && echo "Gres=gpu:1" ) State=UNKNOWN
PartitionName=batch Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
# a GPU that is /dev/null: Slurm allocates and records gres/gpu (and sets CUDA_VISIBLE_DEVICES), no device is used
[ "$GPU" = 1 ] && echo "NodeName=$NODE Name=gpu File=/dev/null" >"$W/etc/gres.conf"

slurmdbd >>"$W/log/slurmdbd.log" 2>&1 || start_fail slurmdbd "$W/log/slurmdbd.log"
wait_for 30 sacctmgr -n list cluster || start_fail slurmdbd "$W/log/slurmdbd.log"
{ sacctmgr -i add cluster agentomics && sacctmgr -i add account agentomics_test Description=test Organization=agentomics &&
  sacctmgr -i add user root Account=agentomics_test; } >"$W/log/sacctmgr.log" 2>&1 || start_fail "sacctmgr (accounts)" "$W/log/sacctmgr.log"
slurmctld -i >>"$W/log/slurmctld.log" 2>&1 || start_fail slurmctld "$W/log/slurmctld.log"
slurmd -N "$NODE" >>"$W/log/slurmd.log" 2>&1 || start_fail slurmd "$W/log/slurmd.log"
node_idle() { [ "$(sinfo -h -n "$NODE" -o %t 2>/dev/null)" = idle ]; }
wait_for 60 node_idle || { sinfo >>"$W/log/slurmd.log" 2>&1; start_fail "slurmd (node $NODE idle)" "$W/log/slurmd.log"; }
note "cluster up in $((SECONDS - START)) s: node $NODE, $CPUS CPUs, RealMemory $REAL_MB MB of $MEM_MB, partition batch, account agentomics_test$( [ "$GPU" = 1 ] && echo ', gres gpu:1 (File=/dev/null: no device)'); Slurm $(sinfo -V | awk '{print $2}'), $W"
ok "single-node Slurm started (munged, mariadbd, slurmdbd, slurmctld, slurmd; sinfo: idle)"

T0=$(date +%s)
# a probe job: sacct records it with its request (the accounting path works)
pid=$(sbatch --parsable -p batch -A agentomics_test -c 1 --mem 100M -t 2 -J probe -o /dev/null --wrap true 2>"$W/log/probe.err")
probe_done() { [ "$(sacct -n -X -P -j "$pid" -o State 2>/dev/null)" = COMPLETED ]; }
if [ -n "$pid" ] && wait_for 60 probe_done; then ok "a probe job ran and sacct records it"
else not_ok "a probe job ran and sacct records it ($(cat "$W/log/probe.err"))"; fi

# sacct_jobs FILE EPOCH: every job submitted since EPOCH (one line each, parsable)
SACCT_FMT=JobID,JobName%60,Comment%80,Partition,Account,State,ExitCode,ReqCPUS,ReqMem,Timelimit,AllocTRES%60,Submit,Start,End,Elapsed
# once slurmdbd has the final state of every job slurmctld knows of since
# EPOCH (accounting lags the controller: a run can end before its last job's
# record is stored; MinJobAge keeps finished jobs in squeue --states=all)
sacct_jobs() {
    local since i want have
    since=$(date -d "@$2" +%Y-%m-%dT%H:%M:%S)
    for i in $(seq 30); do
        sacct -X -P -n -a -S "$since" -E now -o "$SACCT_FMT" >"$1" 2>&1
        want=$(squeue -h -t all -o '%i %V' 2>/dev/null | awk -v t="$since" '$2 >= t { print $1 }' | sort)
        have=$(awk -F'|' '$6 !~ /^(PENDING|RUNNING|REQUEUED|COMPLETING|SUSPENDED)/ { print $1 }' "$1" | sort)
        [ -z "$(comm -23 <(echo "$want") <(echo "$have") | grep .)" ] && return 0
        sleep 1
    done
    note "sacct still lacks jobs $(comm -23 <(echo "$want") <(echo "$have") | tr '\n' ' ')after 30 s"
}

# The held train-run: a bin folder with the tools, train-run wrapped. Its
# first call (whichever lineage) records its Slurm job and waits to be
# cancelled; every later call, the retry included, runs the tool at once.
hold_bin() {   # DIR: makes DIR/bin
    mkdir -p "$1/bin"
    for f in "$BIN"/agentomics-*; do ln -s "$f" "$1/bin/"; done
    rm -f "$1/bin/agentomics-train-run"
    cat >"$1/bin/agentomics-train-run" <<EOF
#!/bin/sh
# tests/cluster/slurm.sh: the first call waits here to be cancelled with scancel
case " \$* " in *" --version "*|*" --help "*) exec "$BIN/agentomics-train-run" "\$@" ;; esac
if mkdir "$1/held" 2>/dev/null; then
    echo "\${SLURM_JOB_ID:-none}" >"$1/held/job.tmp" && mv "$1/held/job.tmp" "$1/held/job"
    sleep 300
    exit 99
fi
exec "$BIN/agentomics-train-run" "\$@"
EOF
    chmod 0755 "$1/bin/agentomics-train-run"
}
# canceller DIR: in the background, scancels the held job once it runs
canceller() {
    ( for i in $(seq 600); do
          if [ -s "$1/held/job" ]; then
              j=$(cat "$1/held/job")
              sleep 2
              scancel "$j" && echo "$j" >"$1/held/cancelled"
              exit 0
          fi
          sleep 0.5
      done ) &
    WATCHERS="$WATCHERS $!"
}

# check_jobs ENGINE SACCT EXPECTED: compares each submitted job with the
# request it should have had (EXPECTED: TSV key cpus mem_mb minutes; key is a
# Nextflow process name or a Snakemake rule), counts them, checks the
# cancelled-and-retried train-run, the concurrency of lineages, and the
# partition and account. Prints a table; exit status 1 on a mismatch.
check_jobs() {
    "$PY" - "$@" <<'PY'
import csv, re, sys
from datetime import datetime
engine, sacct_file, expected_file, cancelled = sys.argv[1:5]
want_procs = sys.argv[5].split(",")
expected = {}
by_id = {}   # Nextflow: the trace's job id of each task -> its request
for row in csv.reader(open(expected_file), delimiter="\t"):
    expected.setdefault(row[0], []).append(tuple(int(x) for x in row[1:4]))
    if len(row) > 4:
        by_id[row[4]] = (row[0],) + tuple(int(x) for x in row[1:4])
cols = "JobID,JobName,Comment,Partition,Account,State,ExitCode,ReqCPUS,ReqMem,Timelimit,AllocTRES,Submit,Start,End,Elapsed".split(",")
jobs = [dict(zip(cols, l.rstrip("\n").split("|"))) for l in open(sacct_file) if l.count("|") == len(cols) - 1]
def mem_mb(s):
    m = re.fullmatch(r"([0-9.]+)([KMGT]?)[nc]?", s)
    return round(float(m.group(1)) * {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]) if m else -1
def minutes(s):
    d, _, hms = s.rpartition("-")
    h, m, sec = (int(x) for x in hms.split(":"))
    return (int(d) if d else 0) * 1440 + h * 60 + m + (1 if sec else 0)
def key(j):
    if engine == "nextflow":
        m = re.match(r"nf-(?:LINEAGES_)?([A-Z_]+)", j["JobName"])
        return m.group(1).rstrip("_") if m else None
    m = re.match(r"rule_([a-z_]+?)(?:_wildcards_|$)", j["Comment"])
    return m.group(1) if m else None
def lineage(j):
    # Nextflow: the tag in the job name (nf-LINEAGES_TRAIN_RUN_(lineage2_iter1));
    # Snakemake: the wildcard values in the comment (rule_train_run_wildcards_2_1: lineage, iteration)
    m = re.search(r"lineage(\d+)", j["JobName"]) if engine == "nextflow" else re.search(r"_wildcards_(\d+)_\d+$", j["Comment"])
    return int(m.group(1)) if m else None
def ts(s):
    return datetime.fromisoformat(s) if s not in ("", "Unknown", "None") else None
bad = []
mine = [j for j in jobs if key(j)]
print(f"# {engine}: {len(mine)} Slurm jobs")
print("#   %-8s %-16s %-10s %-9s %4s %7s %9s %-20s %s" % ("jobid", "task", "state", "partition", "cpus", "mem_MB", "limit_min", "start", "elapsed"))
for j in mine:
    k = key(j)
    got = (int(j["ReqCPUS"]), mem_mb(j["ReqMem"]), minutes(j["Timelimit"]))
    print("#   %-8s %-16s %-10s %-9s %4d %7d %9d %-20s %s" % (j["JobID"], k + ("" if lineage(j) is None else f":L{lineage(j)}"), j["State"].split()[0],
          j["Partition"], got[0], got[1], got[2], j["Start"], j["Elapsed"]))
    if k not in expected:
        bad.append(f"job {j['JobID']} ({k}) should not have been submitted")
    elif got not in expected[k]:
        bad.append(f"job {j['JobID']} ({k}): cpus/mem_MB/minutes {got}, expected one of {expected[k]}")
    if j["Partition"] != "batch" or j["Account"] != "agentomics_test":
        bad.append(f"job {j['JobID']} ({k}): partition {j['Partition']!r}, account {j['Account']!r} (expected batch, agentomics_test)")
    if "gres/gpu" in j["AllocTRES"]:
        bad.append(f"job {j['JobID']} ({k}) was allocated a GPU: {j['AllocTRES']}")
for jid, (name, *req) in by_id.items():
    j = [j for j in mine if j["JobID"] == jid]
    if not j:
        bad.append(f"the trace's {name} job {jid} is not in sacct")
    elif (key(j[0]), int(j[0]["ReqCPUS"]), mem_mb(j[0]["ReqMem"]), minutes(j[0]["Timelimit"])) != (name, *req):
        bad.append(f"job {jid}: sacct differs from the trace's {name} {req}")
if by_id and len(by_id) != len(mine):
    bad.append(f"{len(mine)} jobs in sacct, {len(by_id)} in the trace")
for p in want_procs:
    if not any(key(j) == p and j["State"] == "COMPLETED" for j in mine):
        bad.append(f"no completed Slurm job for {p}")
train = [j for j in mine if key(j) in ("TRAIN_RUN", "train_run")]
canc = [j for j in train if j["JobID"] == cancelled]
if cancelled == "-":
    pass                       # no job was cancelled in this run
elif not canc or not canc[0]["State"].startswith("CANCELLED"):
    bad.append(f"the held train-run job {cancelled} is not CANCELLED in sacct")
else:
    # its retry: a later train-run job of the same task (name or comment) that completed
    same = [j for j in train if j is not canc[0] and (j["JobName"] if engine == "nextflow" else j["Comment"]) ==
            (canc[0]["JobName"] if engine == "nextflow" else canc[0]["Comment"])]
    if not any(j["State"] == "COMPLETED" and int(j["JobID"]) > int(cancelled) for j in same):
        bad.append(f"the cancelled train-run job {cancelled} was not retried as a new job that completed")
    else:
        print(f"# {engine}: train-run job {cancelled} cancelled, retried as job {[j['JobID'] for j in same if j['State'] == 'COMPLETED'][0]}")
# lineages as concurrent jobs: train-run jobs of two lineages running at once
pairs = [(a, b) for a in train for b in train if lineage(a) and lineage(b) and lineage(a) < lineage(b)
         and ts(a["Start"]) and ts(b["Start"]) and ts(a["End"]) and ts(b["End"])
         # sacct's times have one-second resolution and a quick train-run shows 0 s
         # elapsed: intervals that share a second count as overlapping
         and ts(a["Start"]) <= ts(b["End"]) and ts(b["Start"]) <= ts(a["End"])]
if pairs:
    a, b = pairs[0]
    print(f"# {engine}: {len(pairs)} pairs of train-run jobs of different lineages overlapped, e.g. {a['JobID']} (lineage {lineage(a)}, {a['Start']}..{a['End']}) and {b['JobID']} (lineage {lineage(b)}, {b['Start']}..{b['End']})")
else:
    bad.append("no two lineages' train-run jobs ran at the same time")
for b in bad:
    print("#   " + b)
sys.exit(1 if bad else 0)
PY
}

# nf_trace RESULTS: the newest Nextflow trace (pipeline_info/execution_trace_<start time>.txt)
nf_trace() { ls "$1"/pipeline_info/execution_trace_*.txt 2>/dev/null | sort | tail -1; }
# trace_count TRACE [COLUMN VALUE]: the trace's tasks (whose COLUMN is VALUE), columns found by name
trace_count() {
    "$PY" -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t")) if sys.argv[1] != "/dev/null" else []
print(sum(1 for r in rows if len(sys.argv) < 4 or r.get(sys.argv[2]) == sys.argv[3]))' "$@"
}
summary_line() { echo "# summary: $*" | tee -a "$W/summary.txt"; }

# ---- Nextflow ----------------------------------------------------------------
run_nextflow() {
    local d=$W/nf t rc lib
    if ! lib=$(bash "$ROOT/tests/workflow/nextflow.sh" resolve 2>"$W/log/nf-resolve.log"); then
        note "Nextflow could not be resolved from Maven Central ($(tail -1 "$W/log/nf-resolve.log")): Nextflow part skipped"; return 0
    fi
    mkdir -p "$d"; hold_bin "$d"
    # the account as the README says for Nextflow: sbatch reads SBATCH_ACCOUNT
    export SBATCH_ACCOUNT=agentomics_test
    # polling tuned for a test (the profile's defaults suit a shared cluster);
    # partition and account as the README tells users to give them
    cat >"$d/test.config" <<'EOF'
executor { pollInterval = '2 sec'; queueStatInterval = '3 sec'; submitRateLimit = '20/1s'; exitReadTimeout = '60 sec' }
EOF
    NF_ARGS=(-profile test,slurm -c "$d/test.config" -process.queue=batch
             --bin_dir "$d/bin" --max_memory "${MAX_MEM_GB}.GB" --outdir "$d/results" -ansi-log false)
    canceller "$d"
    local t_start; t_start=$(date +%s); t=$SECONDS
    run_logged "$d/run1.log" env -C "$d" timeout -k 10 600 bash "$ROOT/tests/workflow/nextflow.sh" nf run "$ROOT/workflows/main.nf" "${NF_ARGS[@]}"; rc=$?
    local wall1=$((SECONDS - t))
    if [ "$rc" = 0 ]; then ok "nextflow -profile test,slurm finished ($wall1 s)"
    else not_ok "nextflow -profile test,slurm finished (exit $rc)"; tail -30 "$d/run1.log" | sed 's/^/#   /'; return; fi
    local miss=""
    for f in model.tar.gz test_metrics.json test_predictions.tsv lineages.json lineage1/summary.json lineage2/summary.json; do
        [ -s "$d/results/$f" ] || miss="$miss $f"
    done
    [ -z "$miss" ] && ok "nextflow: the outputs (model.tar.gz, test_metrics.json, ...)" || not_ok "nextflow: outputs missing:$miss"
    local cancelled; cancelled=$(cat "$d/held/cancelled" 2>/dev/null)
    [ -n "$cancelled" ] && ok "nextflow: the first train-run job ($cancelled) was cancelled with scancel while it ran" ||
        not_ok "nextflow: no train-run job was cancelled"
    # expected requests: the trace's cpus/memory/time for each task (what its label asked)
    local trace1; trace1=$(nf_trace "$d/results")
    "$PY" - "$trace1" "$d/expected.tsv" "$d/local.txt" <<'PY'
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def mb(s):
    n, u = s.split()
    return round(float(n) * {"MB": 1, "GB": 1024, "TB": 1024 * 1024}[u])
def mins(s):
    return sum(float(n) * {"d": 1440, "h": 60, "m": 1, "s": 1 / 60}[u] for n, u in re.findall(r"([0-9.]+)([dhms])", s))
with open(sys.argv[2], "w") as out, open(sys.argv[3], "w") as loc:
    for r in rows:
        name = re.sub(r"^LINEAGES:", "", r["name"].split(" ")[0])
        if r["native_id"] and r["native_id"].isdigit() and name not in ("AGENT_STEP", "ANALYZE", "REFLECT", "DECIDE"):
            out.write(f"{name}\t{r['cpus']}\t{mb(r['memory'])}\t{round(mins(r['time']))}\t{r['native_id']}\n")
        else:
            loc.write(f"{name}\t{r['native_id']}\n")
PY
    sacct_jobs "$d/sacct.txt" "$t_start"
    if check_jobs nextflow "$d/sacct.txt" "$d/expected.tsv" "$cancelled" PREPARE_DATA,TRAIN_RUN,SELECT_LINEAGE,PACKAGE_MODEL,PREDICT,EVALUATE >"$d/check.txt"; then
        ok "nextflow: every task but the agent steps ran as a Slurm job with its label's CPUs, memory and time limit (sacct), in partition batch, account agentomics_test"
        ok "nextflow: the cancelled train-run was retried as a new job and the run finished"
        ok "nextflow: lineages ran as concurrent jobs"
    else
        not_ok "nextflow: jobs, requests, retry and concurrency against sacct"
    fi
    cat "$d/check.txt"
    local njobs nlocal
    njobs=$(awk -F'|' '$2 ~ /^nf-/' "$d/sacct.txt" | wc -l)
    nlocal=$(awk -F'\t' '$1 ~ /^(AGENT_STEP|ANALYZE|REFLECT|DECIDE)$/' "$d/local.txt" | wc -l)
    if grep -q 'status.*FAILED\|exit: 143' "$d/run1.log" || [ "$(trace_count "$trace1" exit 143)" -gt 0 ]; then
        ok "nextflow: the trace records the cancelled attempt (exit 143) before the retry"
    else not_ok "nextflow: the trace records the cancelled attempt (exit 143)"; fi
    # -resume: nothing recomputed, nothing submitted
    T1=$(date +%s); sleep 1
    t=$SECONDS
    run_logged "$d/run2.log" env -C "$d" timeout -k 10 300 bash "$ROOT/tests/workflow/nextflow.sh" nf run "$ROOT/workflows/main.nf" "${NF_ARGS[@]}" -resume; rc=$?
    local wall2=$((SECONDS - t)) total cached new
    local trace2; trace2=$(nf_trace "$d/results")
    [ "$trace2" != "$trace1" ] || trace2=/dev/null   # -resume writes a trace of its own (named with its start time)
    total=$(trace_count "$trace2")
    cached=$(trace_count "$trace2" status CACHED)
    new=$(sacct -X -P -n -a -S "$(date -d "@$T1" +%Y-%m-%dT%H:%M:%S)" -E now -o JobName | grep -c '^nf-')
    if [ "$rc" = 0 ] && [ "$total" -gt 0 ] && [ "$total" = "$cached" ] && [ "$new" = 0 ]; then
        ok "nextflow -resume: recomputed nothing ($cached/$total tasks cached, no job submitted; $wall2 s)"
    else not_ok "nextflow -resume: exit $rc, $cached of $total cached, $new jobs submitted"; tail -20 "$d/run2.log" | sed 's/^/#   /'; fi
    summary_line "nextflow 25.04.4 -profile test,slurm: $njobs Slurm jobs (1 cancelled and retried), $nlocal agent tasks local; run $wall1 s, -resume $wall2 s ($cached/$total cached, $new jobs)"
}

# ---- Snakemake ---------------------------------------------------------------
# smk_expected FILE: the rules' requests under tests/workflow/test_config.yaml
# (threads 1; resources: workflows/config.yaml, train 2000 MB / 5 min)
smk_expected() {
    printf '%s\t1\t%s\t%s\n' prepare_data 4000 60 train_run 2000 5 package_model 4000 60 predict 4000 60 evaluate 1000 10 >"$1"
}
# smk_run DIR LOG SNAKEMAKE ARGS...: the workflow in DIR on the cluster
smk_run() {
    local d=$1 log=$2 smk=$3; shift 3
    run_logged "$log" env -C "$d" timeout -k 10 600 "$smk" -s "$ROOT/workflows/Snakefile" --directory "$d" \
        --configfile "$ROOT/tests/workflow/test_config.yaml" --config bin_dir="$d/bin" "$@"
}
smk_setup() {   # DIR [nohold]: a working directory with the held train-run (or the plain tools)
    rm -rf "$1"; mkdir -p "$1/tests"; ln -s "$ROOT/tests/data" "$1/tests/data"
    if [ "${2:-}" = nohold ]; then ln -s "$BIN" "$1/bin"; else hold_bin "$1"; fi
}

# smk7_comments DIR SACCT: Snakemake 7.21 gives its jobs no --comment (its job
# names are snakejob_RULE_N): each job's rule and wildcards are read from its
# log (.snakemake/slurm_logs/rule_RULE/JOBID.log) into sacct's Comment column,
# in the form the plugin of Snakemake 8+ writes (rule_RULE_wildcards_L_I).
smk7_comments() {
    "$PY" - "$@" <<'PY'
import glob, os, re, sys
d, sacct = sys.argv[1:3]
comment = {}
for log in glob.glob(os.path.join(d, ".snakemake/slurm_logs/rule_*/*.log")):
    rule = os.path.basename(os.path.dirname(log))[len("rule_"):]
    m = re.search(r"wildcards: lineage=(\d+), iteration=(\d+)", open(log, errors="replace").read())
    comment[os.path.basename(log)[:-4]] = f"rule_{rule}" + (f"_wildcards_{m.group(1)}_{m.group(2)}" if m else "")
lines = []
for line in open(sacct):
    f = line.rstrip("\n").split("|")
    if len(f) > 2 and f[0] in comment and not f[2]:
        f[2] = comment[f[0]]
    lines.append("|".join(f) + "\n")
open(sacct, "w").writelines(lines)
PY
}

run_snakemake_checks() {   # ENGINE DIR START: after a finished run started at epoch START
    local eng=$1 d=$2 t_start=$3 cancelled=-
    if [ -L "$d/bin" ]; then :    # no job held and cancelled in this run
    else
        cancelled=$(cat "$d/held/cancelled" 2>/dev/null)
        [ -n "$cancelled" ] && ok "$eng: the first train_run job ($cancelled) was cancelled with scancel while it ran" ||
            not_ok "$eng: no train_run job was cancelled"
    fi
    local miss=""
    for f in model.tar.gz test_metrics.json test_predictions.tsv lineages.json lineage1/summary.json lineage2/summary.json; do
        [ -s "$d/results/gue_tata_sample/$f" ] || miss="$miss $f"
    done
    [ -z "$miss" ] && ok "$eng: the outputs (model.tar.gz, test_metrics.json, ...)" || not_ok "$eng: outputs missing:$miss"
    smk_expected "$d/expected.tsv"
    sacct_jobs "$d/sacct.txt" "$t_start"
    smk7_comments "$d" "$d/sacct.txt"
    if check_jobs snakemake "$d/sacct.txt" "$d/expected.tsv" "$cancelled" prepare_data,train_run,package_model,predict,evaluate >"$d/check.txt"; then
        ok "$eng: every rule but the local ones ran as a Slurm job with its threads, mem_mb and runtime (sacct), in partition batch, account agentomics_test"
        [ "$cancelled" != - ] && ok "$eng: the cancelled train_run was resubmitted and the run finished"
        ok "$eng: lineages ran as concurrent jobs"
    else not_ok "$eng: jobs, requests, retry and concurrency against sacct"; fi
    cat "$d/check.txt"
}

# snakemake-executor-plugin-slurm-jobstep (0.6.1) starts the job's srun with
# every SLURM_* variable but a few job ids removed from its environment,
# SLURM_CONF included, so srun looks for /etc/slurm/slurm.conf (a real
# cluster's place, which this test leaves alone): an srun first on PATH that
# sets it back (sbatch exports PATH to the job).
srun_wrapper() {
    [ -x "$W/clientbin/srun" ] && return 0      # (once: srun on PATH is then the wrapper)
    mkdir -p "$W/clientbin"
    printf '#!/bin/sh\n# tests/cluster/slurm.sh: the test cluster for srun (see srun_wrapper)\nSLURM_CONF=%s exec %s "$@"\n' \
        "$SLURM_CONF" "$(command -v srun)" >"$W/clientbin/srun"
    chmod 0755 "$W/clientbin/srun"
    case ":$PATH:" in *":$W/clientbin:"*) ;; *) PATH=$W/clientbin:$PATH ;; esac
}

run_snakemake() {
    local d=$W/smk venv=${AGENTOMICS_SLURM_VENV:-/tmp/agentomics-slurm-venv} rc t wall1 wall2 new njobs
    if ! [ -x "$venv/bin/snakemake" ] || ! "$venv/bin/python" -c 'import snakemake_executor_plugin_slurm' 2>/dev/null; then
        "$PY" -m venv "$venv" >"$W/log/pip.log" 2>&1 && "$venv/bin/pip" install -q snakemake snakemake-executor-plugin-slurm >>"$W/log/pip.log" 2>&1 ||
            { note "could not install snakemake and snakemake-executor-plugin-slurm from PyPI ($(tail -1 "$W/log/pip.log")): Snakemake part skipped"; return 0; }
    fi
    local V PV
    srun_wrapper
    V=$("$venv/bin/snakemake" --version); PV=$("$venv/bin/pip" show snakemake-executor-plugin-slurm 2>/dev/null | awk '/^Version/ {print $2}')
    smk_setup "$d"
    SMK_ARGS=(--executor slurm --jobs 20 --retries 1 --latency-wait 10
              --default-resources slurm_partition=batch slurm_account=agentomics_test
              --slurm-init-seconds-before-status-checks 2 --seconds-between-status-checks 3 --slurm-status-command squeue)
    canceller "$d"
    T1=$(date +%s); t=$SECONDS
    smk_run "$d" "$d/run1.log" "$venv/bin/snakemake" "${SMK_ARGS[@]}"; rc=$?
    wall1=$((SECONDS - t))
    if [ "$rc" = 0 ]; then ok "snakemake $V --executor slurm (plugin $PV) finished ($wall1 s)"
    else not_ok "snakemake $V --executor slurm finished (exit $rc)"; tail -30 "$d/run1.log" | sed 's/^/#   /'; return; fi
    run_snakemake_checks "snakemake $V" "$d" "$T1"
    njobs=$(awk -F'|' '$3 ~ /^rule_/' "$d/sacct.txt" | wc -l)
    T2=$(date +%s); sleep 1; t=$SECONDS
    smk_run "$d" "$d/run2.log" "$venv/bin/snakemake" "${SMK_ARGS[@]}"; rc=$?
    wall2=$((SECONDS - t))
    new=$(sacct -X -P -n -a -S "$(date -d "@$T2" +%Y-%m-%dT%H:%M:%S)" -E now -o Comment%80 | grep -c '^rule_')
    if [ "$rc" = 0 ] && grep -q "Nothing to be done" "$d/run2.log" && [ "$new" = 0 ]; then
        ok "snakemake $V: a second invocation has nothing to do and submits no job ($wall2 s)"
    else not_ok "snakemake $V: second invocation (exit $rc, $new jobs)"; tail -20 "$d/run2.log" | sed 's/^/#   /'; fi
    summary_line "snakemake $V + snakemake-executor-plugin-slurm $PV: $njobs Slurm jobs (1 cancelled and resubmitted); run $wall1 s, re-run $wall2 s (nothing to do, $new jobs)"
}

run_snakemake7() {
    local d=$W/smk7 rc t wall njobs
    command -v /usr/bin/snakemake >/dev/null || { note "Debian's snakemake is not installed: Snakemake 7 part skipped"; return 0; }
    local V; V=$(/usr/bin/snakemake --version)
    # no job cancelled here: 7.21 polls `sacct -j ID` and does not match the
    # state of a job cancelled with scancel ("CANCELLED by UID"), so it would
    # wait for that job for ever (README: Running on a cluster)
    smk_setup "$d" nohold
    # 7.21 reads $USER (for sacctmgr's account check), which a CI container may not set
    export USER=${USER:-$(id -un)}
    T1=$(date +%s); t=$SECONDS
    smk_run "$d" "$d/run1.log" /usr/bin/snakemake --slurm --jobs 20 --restart-times 1 --latency-wait 10 --max-status-checks-per-second 1 \
        --default-resources slurm_partition=batch slurm_account=agentomics_test; rc=$?
    wall=$((SECONDS - t))
    if [ "$rc" = 0 ]; then ok "snakemake $V --slurm finished ($wall s)"
    else not_ok "snakemake $V --slurm finished (exit $rc)"; tail -30 "$d/run1.log" | sed 's/^/#   /'; return; fi
    run_snakemake_checks "snakemake $V --slurm" "$d" "$T1"
    njobs=$(awk -F'|' '$3 ~ /^rule_/' "$d/sacct.txt" | wc -l)
    summary_line "snakemake $V --slurm (Debian): $njobs Slurm jobs (none cancelled); run $wall s"
}

# ---- GPU requests ------------------------------------------------------------
run_gpu() {
    local d=$W/gpu rc f g0
    mkdir -p "$d"; g0=$(date +%s); sleep 1
    export SBATCH_ACCOUNT=agentomics_test
    if lib=$(bash "$ROOT/tests/workflow/nextflow.sh" resolve 2>/dev/null); then
        cat >"$d/test.config" <<'EOF'
executor { pollInterval = '2 sec'; queueStatInterval = '3 sec'; submitRateLimit = '20/1s'; exitReadTimeout = '60 sec' }
EOF
        run_logged "$d/nf.log" env -C "$d" timeout -k 10 300 bash "$ROOT/tests/workflow/nextflow.sh" nf run "$ROOT/workflows/main.nf" -profile test,slurm,gpu -stub-run \
            -c "$d/test.config" -process.queue=batch --lineages 1 --iterations 1 \
            --max_memory "${MAX_MEM_GB}.GB" --outdir "$d/results" -ansi-log false; rc=$?
        if [ "$rc" = 0 ]; then
            local with without
            with=$(grep -l "^#SBATCH --gres=gpu:1" "$d"/work/*/*/.command.run 2>/dev/null | xargs -r grep -l "^#SBATCH -J nf-LINEAGES_TRAIN_RUN" | wc -l)
            without=$(grep -l '^#SBATCH --gres' "$d"/work/*/*/.command.run 2>/dev/null | xargs -r grep -L '^#SBATCH -J nf-LINEAGES_TRAIN_RUN' | wc -l)
            f=$(grep -l '^#SBATCH --gres=gpu:1' "$d"/work/*/*/.command.run 2>/dev/null | head -1)
            [ -n "$f" ] && grep '^#SBATCH' "$f" | sed 's/^/#   train-run: /'
            if [ "$with" = 1 ] && [ "$without" = 0 ]; then ok "nextflow -profile slurm,gpu: #SBATCH --gres=gpu:1 for train-run only"
            else not_ok "nextflow -profile slurm,gpu: --gres=gpu:1 on $with train-run and $without other job scripts"; fi
            sacct -X -P -n -a -S "$(date -d "@$g0" +%Y-%m-%dT%H:%M:%S)" -E now -o JobID,JobName%60,AllocTRES%80 | grep '|nf-' >"$d/sacct.txt"
            sed 's/^/#   sacct: /' "$d/sacct.txt" | grep -E 'TRAIN_RUN|PREDICT' | tail -4
            # the stub run's train-run job is the last one of that name
            if grep 'TRAIN_RUN' "$d/sacct.txt" | tail -1 | grep -q 'gres/gpu=1' && ! grep -v 'TRAIN_RUN' "$d/sacct.txt" | grep -q 'gres/gpu'; then
                ok "nextflow -profile slurm,gpu: Slurm allocated gres/gpu=1 to the train-run job only (sacct AllocTRES)"
            else not_ok "nextflow -profile slurm,gpu: gres/gpu in sacct"; sed 's/^/#   /' "$d/sacct.txt"; fi
        else not_ok "nextflow -profile test,slurm,gpu -stub-run (exit $rc)"; tail -20 "$d/nf.log" | sed 's/^/#   /'; fi
    fi
    local venv=${AGENTOMICS_SLURM_VENV:-/tmp/agentomics-slurm-venv}
    if [ -x "$venv/bin/snakemake" ]; then
        local s=$d/smk
        srun_wrapper
        rm -rf "$s"; mkdir -p "$s/tests"; ln -s "$ROOT/tests/data" "$s/tests/data"
        local T2; T2=$(date +%s); sleep 1
        # one lineage up to its first training run, verbose: the plugin prints each sbatch call
        run_logged "$s/run.log" env -C "$s" timeout -k 10 300 "$venv/bin/snakemake" -s "$ROOT/workflows/Snakefile" --directory "$s" \
            --configfile "$ROOT/tests/workflow/test_config.yaml" --config bin_dir="$BIN" gpus=1 lineages=1 \
            --executor slurm --jobs 4 --verbose --default-resources slurm_partition=batch slurm_account=agentomics_test \
            --slurm-init-seconds-before-status-checks 2 --seconds-between-status-checks 3 \
            results/gue_tata_sample/lineage1/runs/iter1; rc=$?
        if [ "$rc" = 0 ]; then
            grep -E 'sbatch call:' "$s/run.log" | sed -e 's/ --wrap=.*//' -e 's/^.*sbatch call: /#   sbatch: /'
            if grep 'sbatch call:' "$s/run.log" | grep 'rule_train_run' | grep -q -- '--gpus=1' &&
               ! grep 'sbatch call:' "$s/run.log" | grep -v 'rule_train_run' | grep -q -- '--gpus'; then
                ok "snakemake gpus=1: --gpus=1 on train_run's sbatch line only"
            else not_ok "snakemake gpus=1: --gpus=1 on train_run's sbatch line only"; fi
            sacct -X -P -n -a -S "$(date -d "@$T2" +%Y-%m-%dT%H:%M:%S)" -E now -o JobID,Comment%80,AllocTRES%80 | grep '|rule_' >"$s/sacct.txt"
            sed 's/^/#   sacct: /' "$s/sacct.txt"
            if grep 'rule_train_run' "$s/sacct.txt" | grep -q 'gres/gpu=1' && ! grep -v 'rule_train_run' "$s/sacct.txt" | grep -q 'gres/gpu'; then
                ok "snakemake gpus=1: Slurm allocated gres/gpu=1 to the train_run job only (sacct AllocTRES)"
            else not_ok "snakemake gpus=1: gres/gpu in sacct"; fi
        else not_ok "snakemake gpus=1 (exit $rc)"; tail -20 "$s/run.log" | sed 's/^/#   /'; fi
    fi
}

for part in "${PARTS[@]}"; do
    case $part in
        nextflow) run_nextflow ;;
        snakemake) run_snakemake ;;
        snakemake7) run_snakemake7 ;;
        gpu) run_gpu ;;
        # a command on the running cluster (SLURM_CONF set), e.g. to try a submission by hand
        run=*) bash -c "${part#run=}" ;;
        *) echo "usage: $0 [nextflow|snakemake|snakemake7|gpu]..." >&2; exit 2 ;;
    esac
done

note "sacct, every job of this test:"
sacct -X -a -S "$(date -d "@$T0" +%Y-%m-%dT%H:%M:%S)" -E now \
    -o JobID,JobName%40,Partition,Account,State,ExitCode,ReqCPUS,ReqMem,Timelimit,Elapsed 2>&1 | sed 's/^/#   /'
[ -s "$W/summary.txt" ] && cat "$W/summary.txt"
echo "# slurm: $N_OK passed, $N_FAIL failed, $((SECONDS - START)) s"
[ "$N_FAIL" = 0 ]
