/* The public API stands on its own: a program that uses nntrain as a library includes
 * nn/nn.h with nothing but include/ on its path (no <mpi.h>, no <hdf5.h>). Compiled, not
 * run, by the unit.public_headers test. */
#include "nn/nn.h"

int main(void)
{
    nn_comm world;
    nn_error err = {0};
    if (nn_parallel_init(NULL, NULL, &world, &err))
        return 1;
    nn_train_result result;
    nn_trainer_close(NULL, &result);
    nn_parallel_finalize();
    return 0;
}
