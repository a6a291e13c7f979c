/* Which nntrain this is: the project version and, for a build from a git checkout, the
 * commit. Written into checkpoints' /meta and each run's config.yaml, printed by
 * `nntrain --version`. */
#ifndef NN_VERSION_H
#define NN_VERSION_H

const char *nn_version(void);        /* "0.1.0" */
const char *nn_version_commit(void); /* "0d93f4b48638" (+ "-dirty": modified files), or "" */
const char *nn_version_full(void);   /* "0.1.0 (commit 0d93f4b48638)", or "0.1.0" */

#endif
