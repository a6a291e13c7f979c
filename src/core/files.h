/* Small file-system helpers shared by the trainer and the search coordinator. */
#ifndef NN_CORE_FILES_H
#define NN_CORE_FILES_H

/* mkdir -p: creates `path` and its missing parents. 0 on success (also when it exists),
 * -1 with errno set otherwise. */
int nn_make_dirs(const char *path);

#endif
