/* A configuration's metric over its repeats (src/search/interval.c): mean, sample standard
 * deviation and the 95% confidence interval of the mean from Student's t distribution. */
#ifndef NNI_SEARCH_INTERVAL_H
#define NNI_SEARCH_INTERVAL_H

typedef struct nni_mean_interval {
    int n;              /* values (finite ones) */
    double mean, sd;    /* sd: NaN below 2 values */
    double low, high;   /* mean -+ t(0.975, n - 1) sd / sqrt(n); NaN below 2 values */
} nni_mean_interval;

/* The 0.975 quantile of Student's t with df degrees of freedom (df >= 1). */
double nni_t_quantile_975(int df);
nni_mean_interval nni_mean_interval_of(const double *values, int n);
/* Whether two intervals share a point (an interval of fewer than 2 values shares none). */
int nni_intervals_overlap(const nni_mean_interval *a, const nni_mean_interval *b);

#endif
