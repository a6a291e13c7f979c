# Synchronized batchnorm: 2 and 3 ranks (uneven shares of a 7-row batch) give the outputs,
# input gradients, summed parameter gradients and running statistics of one rank with the
# whole batch; unsynchronized batchnorm visibly does not (see tests/mpi/bnsync.c).
set -euo pipefail
: "${NN_BINARY_DIR:?run through ctest}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for ranks in 1 2 3; do
    mpirun --allow-run-as-root --oversubscribe -np "$ranks" "$NN_BINARY_DIR/tests/bnsync"
done
