/* The one clock: monotonic wall time in seconds, for step timings, watchdogs and benchmarks.
 * Never the time of day (it jumps with NTP); only differences mean anything. */
#ifndef NN_CORE_CLOCK_H
#define NN_CORE_CLOCK_H

double nni_clock_seconds(void);

#endif
