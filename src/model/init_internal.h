/* Initializers inside nntrain (src/model/init.c). */
#ifndef NNI_MODEL_INIT_INTERNAL_H
#define NNI_MODEL_INIT_INTERNAL_H

#include "config/catalogue.h"

/* Every initializer's help row, in table order (for --help-catalogue). */
void nni_init_catalogue(nni_catalogue_emit emit, void *ctx);

#endif
