# Gradient sums through node shared memory on 1 to 4 ranks: every bucket's slices into every
# buffer, and owned ranges (each rank sums only its own range) - see tests/mpi/sharedsum.c.
set -euo pipefail
: "${NN_BINARY_DIR:?run through ctest}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
for ranks in 1 2 3 4; do
    mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" \
        "$NN_BINARY_DIR/tests/sharedsum"
done
