/* Learning-rate schedules inside nntrain (src/train/sched.c). */
#ifndef NNI_TRAIN_SCHED_INTERNAL_H
#define NNI_TRAIN_SCHED_INTERNAL_H

#include "config/catalogue.h"

/* Every schedule's help row, in table order, then one row named "(any type)" for the warmup
 * keys every schedule takes (for --help-catalogue). */
void nni_sched_catalogue(nni_catalogue_emit emit, void *ctx);

#endif
