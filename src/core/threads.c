#include "core/threads.h"

#include <cblas.h>

static int team_size; /* 0: not set yet */

void nni_set_threads(int threads)
{
    team_size = threads >= 1 ? threads : 1;
    openblas_set_num_threads(1);
}

int nni_threads(void)
{
    if (!team_size)
        nni_set_threads(openblas_get_num_threads());
    return team_size;
}
