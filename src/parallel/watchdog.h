/* What the gradient sums share with the watchdog (src/parallel only). */
#ifndef NN_PARALLEL_WATCHDOG_H
#define NN_PARALLEL_WATCHDOG_H

#include "nn/parallel.h"

/* train.watchdog_seconds: how long a wait may take. */
double nn_watchdog_timeout(void);
/* Says that `what` at the current epoch and step has not completed within the time,
 * naming the `missing` ranks (a list such as "1, 3"; empty: not known), and aborts the job. */
_Noreturn void nn_watchdog_give_up(const nn_comm *comm, const char *what, const char *missing);

#endif
