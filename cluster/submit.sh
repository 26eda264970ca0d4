#!/usr/bin/env bash
# Submit a raytrack sweep to a running Ray cluster as a Ray job.
#
#   cluster/submit.sh ADDRESS SPACE.yaml [submit options] [raytrack tune options]
#
# ADDRESS is the cluster's dashboard (Ray Jobs API), e.g. http://127.0.0.1:8265 through
# `kubectl port-forward svc/raytrack-head-svc 8265:8265`, or `ray dashboard cluster.yaml` for a
# cluster-launcher cluster. The project directory (this repository, less what .gitignore
# excludes) is uploaded as the job's working directory, so the code and the experiment file you
# have here are what runs there; then, on the head node:
#
#   python tune.py SPACE.yaml [raytrack tune options]
#
# Submit options (taken out before the rest goes to tune.py):
#   --run-dir DIR        run the sweep with DIR as its working directory. DIR is a path on the
#                        cluster (a shared volume, e.g. /mnt/raytrack): the experiment file's
#                        relative paths (storage:, data.store:) are taken from it, so the results
#                        land where every node and the next job can read them. Without it they
#                        land in the uploaded copy of this directory on the head node, which Ray
#                        deletes eventually. Default: $RAYTRACK_RUN_DIR, if set.
#   --submission-id ID   the Ray job's id (default: chosen by Ray).
#   --no-wait            return once the job is submitted instead of following its logs.
#
# Authentication: Ray clusters with token authentication (KubeRay's authOptions.mode: token, or
# RAY_AUTH_MODE=token on every node) refuse requests without the cluster's token. Give it as
# RAY_AUTH_TOKEN, or as a file in RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token; when one of them is
# there and RAY_AUTH_MODE is unset, this script sets RAY_AUTH_MODE=token so that `ray job submit`
# sends it (a cluster without authentication ignores it). The token is never put into the job.
#
# Exit status: that of `ray job submit` (non-zero when the job failed, or could not be submitted).
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
address=$1
space=$2
shift 2

run_dir=${RAYTRACK_RUN_DIR:-}
submit_args=()
tune_args=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --run-dir) [[ $# -ge 2 ]] || usage; run_dir=$2; shift 2 ;;
        --run-dir=*) run_dir=${1#*=}; shift ;;
        --submission-id) [[ $# -ge 2 ]] || usage; submit_args+=(--submission-id "$2"); shift 2 ;;
        --submission-id=*) submit_args+=(--submission-id "${1#*=}"); shift ;;
        --no-wait) submit_args+=(--no-wait); shift ;;
        -h|--help) usage ;;
        *) tune_args+=("$1"); shift ;;
    esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# The experiment file travels inside the working directory, so it must be under the project.
if [[ ! -f $space ]]; then
    echo "submit.sh: no experiment file at $space" >&2
    exit 2
fi
space_abs=$(cd "$(dirname "$space")" && pwd -P)/$(basename "$space")
case $space_abs in
    "$root"/*) space_rel=${space_abs#"$root"/} ;;
    *)
        echo "submit.sh: $space is outside the project directory $root, which is what gets" \
            "uploaded to the cluster; copy it under $root (e.g. search_spaces/)" >&2
        exit 2
        ;;
esac

if [[ -n $run_dir && $run_dir != /* ]]; then
    echo "submit.sh: --run-dir must be an absolute path on the cluster, but got $run_dir" >&2
    exit 2
fi

# Token authentication: send the token when there is one (see the header).
if [[ -z ${RAY_AUTH_MODE:-} ]]; then
    if [[ -n ${RAY_AUTH_TOKEN:-} ]]; then
        token_source=RAY_AUTH_TOKEN
    elif [[ -n ${RAY_AUTH_TOKEN_PATH:-} ]]; then
        token_source=$RAY_AUTH_TOKEN_PATH
    elif [[ -s $HOME/.ray/auth_token ]]; then
        token_source=$HOME/.ray/auth_token
    else
        token_source=
    fi
    if [[ -n $token_source ]]; then
        export RAY_AUTH_MODE=token
        echo "submit.sh: sending the Ray auth token from $token_source" >&2
    fi
fi

timeout_s=${RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S:-900}
if [[ ! $timeout_s =~ ^[0-9]+$ ]]; then
    echo "submit.sh: RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S must be a number of seconds, but got $timeout_s" >&2
    exit 2
fi
# working_dir comes from --working-dir; excludes are on top of .gitignore, which Ray honours.
# A DDP trial's worker group may wait for the autoscaler to add GPU nodes: minutes, not seconds.
runtime_env=$(cat <<EOF
{"excludes": [".git", ".venv", "**/__pycache__", "raytrack_results", "ray_results", "wandb", "mlruns", "mlflow.db", "benchmarks/_work"],
 "env_vars": {"PYTHONUNBUFFERED": "1", "RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S": "$timeout_s",
              "WANDB_SILENT": "true", "WANDB_CONSOLE": "off", "RAY_COLOR_PREFIX": "0"}}
EOF
)

if [[ -n $run_dir ]]; then
    # sh -c with positional arguments: every path and option reaches tune.py as one word.
    # shellcheck disable=SC2016  # $WD and $@ expand on the cluster, not here
    entrypoint=(sh -c 'WD=$PWD && mkdir -p "$1" && cd "$1" && space=$2 && shift 2 && exec python "$WD/tune.py" "$WD/$space" "$@"' raytrack-job "$run_dir" "$space_rel")
else
    entrypoint=(python tune.py "$space_rel")
fi

cd "$root"
exec ray job submit \
    --address "$address" \
    --working-dir . \
    --runtime-env-json "$runtime_env" \
    ${submit_args[@]+"${submit_args[@]}"} \
    -- "${entrypoint[@]}" ${tune_args[@]+"${tune_args[@]}"}
