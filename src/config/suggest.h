/* "Did you mean": the closest of a list of names to a misspelt one, for the config's own
 * messages and for anything else that reads names out of config text (formulas). */
#ifndef NN_CONFIG_SUGGEST_H
#define NN_CONFIG_SUGGEST_H

/* Closest candidate by edit distance (NULL if nothing is reasonably close); candidates is
 * NULL-terminated. */
const char *nni_cfg_closest(const char *word, const char *const *candidates);

#endif
