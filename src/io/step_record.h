/* The per-step record: one row of a run's metrics-steps.csv (train.log_every_steps). Its
 * column names are fixed (other tools read the file by them) and every checkpoint's
 * /meta/history names them in its `step_columns` attribute. */
#ifndef NN_IO_STEP_RECORD_H
#define NN_IO_STEP_RECORD_H

#include <stdint.h>
#include <stdio.h>

typedef struct nni_step_record {
    int epoch;            /* 1-based */
    int64_t step;         /* 1-based optimizer step inside the epoch */
    double loss;          /* mean over the step's global batch, penalties included */
    double accuracy;      /* NaN unless classification */
    double lr;
    double grad_norm;     /* L2 norm of the summed gradient, before clipping */
    double samples_per_s; /* training samples over step time since the previous row */
} nni_step_record;

/* "epoch,step,loss,accuracy,lr,grad_norm,samples_per_s" */
const char *nni_step_columns(void);
void nni_step_write_csv_header(FILE *out);
void nni_step_record_write_csv(const nni_step_record *r, FILE *out);

#endif
