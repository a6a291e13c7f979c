/* The hang watchdog. Every blocking wait on a collective goes through nni_comm_wait, which
 * gives up after the configured time: rank 0 names the ranks that never reached that
 * collective (ranks that wait longer than a second tell it where they wait) and the whole
 * job is aborted instead of hanging until the allocation ends. */
#ifndef NN_PARALLEL_WATCHDOG_H
#define NN_PARALLEL_WATCHDOG_H

#include <stdint.h>

#include "parallel/parallel_internal.h"

/* train.watchdog_seconds: how long a wait may take. */
void nni_watchdog_configure(double timeout_seconds);
double nni_watchdog_timeout(void);
/* Where training is, for the messages: the trainer says so as each step begins. */
void nni_watchdog_arrive(const nn_comm *comm, int epoch, int64_t step);
/* Waits for the requests of a collective on the group, giving up after the time. */
void nni_comm_wait(const nn_comm *comm, int count, MPI_Request *requests, const char *what);
/* Says that `what` at the current epoch and step has not completed within the time,
 * naming the `missing` ranks (a list such as "1, 3"; empty: not known), and aborts the job. */
_Noreturn void nni_watchdog_give_up(const nn_comm *comm, const char *what, const char *missing);

#endif
