/* This process's memory as the kernel counts it (Linux /proc), for the start-up and end
 * lines of a run and the data benchmark. */
#ifndef NN_CORE_MEMORY_USAGE_H
#define NN_CORE_MEMORY_USAGE_H

typedef struct nni_memory_usage {
    double resident_mib;      /* VmRSS: pages mapped now, shared ones counted whole */
    double peak_resident_mib; /* VmHWM: the most VmRSS has been */
    double shared_mib;        /* RssShmem: of VmRSS, pages of shared memory objects */
    double proportional_mib;  /* Pss: private pages plus each shared page / its sharers */
} nni_memory_usage;

/* 1 when read, 0 where /proc does not say (the fields are then 0). */
int nni_memory_usage_read(nni_memory_usage *usage);
/* MemAvailable of /proc/meminfo: what the node can still give without swapping; negative
 * where unknown. NN_TEST_MEMORY_AVAILABLE_MIB (tests) can only lower it, to try the checks
 * against a node's memory without filling it. */
double nni_memory_available_mib(void);

#endif
