/* How a search lays the world's ranks out into groups (src/search/coordinator.c, which also
 * runs the protocol between rank 0 and the groups). */
#ifndef NNI_SEARCH_COORDINATOR_H
#define NNI_SEARCH_COORDINATOR_H

#include "search/space.h"

/* Groups of ranks_per_trial consecutive ranks, from rank 0 (or from rank 1 when the
 * coordinator does not train). NN_ERR_CONFIG when the world does not divide into groups. */
nn_status nni_search_layout(const nn_search *s, int world_size, int *n_groups, nn_error *err);
int nni_search_group_first_rank(const nn_search *s, int group);

#endif
