/* A checkpoint's predictions over a split, reduced to what the report draws (see
 * evaluation.h). The predicted class is the arg-max of the outputs, as `nntrain predict`
 * writes it, so the matrix's counts agree with a predictions file. */
#include "report/evaluation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/gather.h"
#include "report/csv_table.h"
#include "nn/trainer.h"
#include "report/png_image.h"

typedef struct visit_state {
    nn_ckpt_runner *runner;
    nni_evaluation *e;
    int64_t width, stride;
} visit_state;

static void tally(void *opaque, const float *out, int64_t first, int64_t count)
{
    visit_state *v = opaque;
    nni_evaluation *e = v->e;
    const nn_dataset *d = &v->runner->data;
    for (int64_t r = 0; r < count; r++) {
        const float *o = out + r * v->width;
        int64_t row = first + r;
        if (e->classification) {
            int best = 0;
            for (int c = 1; c < v->width; c++)
                if (o[c] > o[best])
                    best = c;
            int truth = d->labels[row];
            if (truth >= 0 && truth < e->classes && best < e->classes)
                e->confusion[truth * e->classes + best]++;
            if (best != truth && e->n_wrong_shown < NNI_EVAL_MAX_SHOWN) {
                int k = e->n_wrong_shown++;
                e->wrong_row[k] = row;
                e->wrong_true[k] = truth;
                e->wrong_pred[k] = best;
            }
        } else if (row % v->stride == 0 && e->n_points < NNI_EVAL_MAX_POINTS) {
            e->predicted[e->n_points] = o[0];
            e->truth[e->n_points] = d->targets ? d->targets[row * d->target_width]
                                               : (double)d->labels[row];
            e->n_points++;
        }
    }
}

/* The misclassified samples as images, when the samples are images (C x H x W, 1 or 3
 * channels): one data URI each, and all of them as one grid (each sample scaled to its own
 * range, white gaps between them). */
static void draw_wrong(nn_ckpt_runner *l, nni_evaluation *e)
{
    const nn_dataset *d = &l->data;
    if (d->sample_ndim != 3 || (d->sample_shape[0] != 1 && d->sample_shape[0] != 3) ||
        e->n_wrong_shown == 0)
        return;
    enum { PER_ROW = 8, GAP = 2 };
    const int c = (int)d->sample_shape[0], h = (int)d->sample_shape[1], w = (int)d->sample_shape[2];
    const int cols = e->n_wrong_shown < PER_ROW ? e->n_wrong_shown : PER_ROW;
    const int rows = (e->n_wrong_shown + PER_ROW - 1) / PER_ROW;
    const int gw = cols * (w + GAP) - GAP, gh = rows * (h + GAP) - GAP;
    float *pixels = malloc((size_t)d->sample_size * sizeof *pixels);
    float *grid = malloc((size_t)c * gw * gh * sizeof *grid);
    for (int64_t i = 0; grid && i < (int64_t)c * gw * gh; i++)
        grid[i] = 1.0f;
    for (int k = 0; pixels && k < e->n_wrong_shown; k++) {
        nni_dataset_gather_x(d, &e->wrong_row[k], 1, pixels);
        nni_png_data_uri(&e->wrong_image[k], pixels, c, h, w);
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < d->sample_size; i++) {
            lo = fminf(lo, pixels[i]);
            hi = fmaxf(hi, pixels[i]);
        }
        const float range = hi > lo ? hi - lo : 1;
        const int x0 = (k % PER_ROW) * (w + GAP), y0 = (k / PER_ROW) * (h + GAP);
        for (int ch = 0; grid && ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    grid[((int64_t)ch * gh + y0 + y) * gw + x0 + x] =
                        (pixels[((int64_t)ch * h + y) * w + x] - lo) / range;
    }
    if (pixels && grid)
        nni_png_encode(&e->wrong_grid, grid, c, gh, gw);
    free(pixels);
    free(grid);
}

void nni_evaluation_draw_samples(const char *checkpoint, nni_evaluation *e)
{
    nn_ckpt_runner l;
    nn_error ignored = {0};
    if (!e->classification || e->n_wrong_shown == 0 ||
        nn_ckpt_runner_open_data(checkpoint, e->split, NULL, &l, &ignored))
        return;
    int rows_ok = 1;
    for (int k = 0; k < e->n_wrong_shown; k++)
        rows_ok &= e->wrong_row[k] >= 0 && e->wrong_row[k] < l.data.n;
    if (rows_ok) {
        for (int k = 0; k < e->n_wrong_shown; k++)
            nni_text_free(&e->wrong_image[k]);
        draw_wrong(&l, e);
    }
    nn_ckpt_runner_close(&l);
}

nn_status nni_evaluation_run(const char *checkpoint, const char *split, nni_evaluation *e,
                             nn_error *err)
{
    memset(e, 0, sizeof *e);
    snprintf(e->split, sizeof e->split, "%s", split);
    nn_ckpt_runner l;
    nn_status st = nn_ckpt_runner_open(checkpoint, split, NULL, &l, err);
    int64_t width = st ? 0 : nn_model_output_size(l.model);
    if (!st) {
        e->samples = l.data.n;
        e->classification = l.data.labels && nn_loss_is_classification(l.loss);
        e->classes = e->classification ? (int)width : 0;
        if (e->classification && l.data.num_classes > e->classes)
            e->classes = l.data.num_classes;
    }
    if (!st && e->classification) {
        e->confusion = calloc((size_t)e->classes * (size_t)e->classes, sizeof *e->confusion);
        e->class_names = calloc((size_t)e->classes, sizeof *e->class_names);
        for (int c = 0; e->class_names && c < e->classes; c++) {
            char number[16];
            snprintf(number, sizeof number, "%d", c);
            e->class_names[c] = strdup(c < l.data.n_class_names && l.data.class_names[c]
                                           ? l.data.class_names[c] : number);
            if (!e->class_names[c])
                st = nn_fail(err, NN_ERR_OTHER, "out of memory");
        }
        if (!e->confusion || !e->class_names)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    } else if (!st) {
        e->predicted = malloc(NNI_EVAL_MAX_POINTS * sizeof *e->predicted);
        e->truth = malloc(NNI_EVAL_MAX_POINTS * sizeof *e->truth);
        if (!e->predicted || !e->truth)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    if (!st) {
        visit_state v = {.runner = &l, .e = e, .width = width,
                         .stride = l.data.n / NNI_EVAL_MAX_POINTS + 1};
        nn_ckpt_runner_run(&l, tally, &v);
        draw_wrong(&l, e);
    }
    nn_ckpt_runner_close(&l);
    if (st)
        nni_evaluation_free(e);
    return st;
}

/* test-confusion.csv and test-misclassified.csv (train/test_record.c) as an evaluation of
 * `checkpoint` on the test split; the images come from the data file, the model is not run. */
int nni_evaluation_recorded(const char *dir, const char *checkpoint, nni_evaluation *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->split, sizeof e->split, "test");
    char path[1100];
    nni_csv_table c, w;
    nn_error ignored = {0};
    snprintf(path, sizeof path, "%s/test-confusion.csv", dir);
    if (nni_csv_read(path, &c, &ignored))
        return 0;
    snprintf(path, sizeof path, "%s/test-misclassified.csv", dir);
    if (nni_csv_read(path, &w, &ignored)) {
        nni_csv_free(&c);
        return 0;
    }
    const int k = c.cols - 1;
    int ok = k >= 1 && c.rows == k && w.cols == 3 && w.rows <= NNI_EVAL_MAX_SHOWN;
    e->classification = 1;
    e->classes = k;
    e->confusion = ok ? calloc((size_t)k * (size_t)k, sizeof *e->confusion) : NULL;
    e->class_names = ok ? calloc((size_t)k, sizeof *e->class_names) : NULL;
    ok = ok && e->confusion && e->class_names;
    for (int a = 0; ok && a < k; a++) {
        ok = (e->class_names[a] = strdup(c.head[a + 1])) != NULL;
        for (int b = 0; ok && b < k; b++) {
            double v = nni_csv_number(&c, a, b + 1);
            ok = v >= 0 && v == floor(v);
            e->confusion[a * k + b] = ok ? (long long)v : 0;
            e->samples += e->confusion[a * k + b];
        }
    }
    for (int r = 0; ok && r < w.rows; r++) {
        double row = nni_csv_number(&w, r, 0), truth = nni_csv_number(&w, r, 1),
               pred = nni_csv_number(&w, r, 2);
        ok = row >= 0 && truth >= 0 && truth < k && pred >= 0 && pred < k;
        e->wrong_row[r] = (int64_t)row;
        e->wrong_true[r] = (int)truth;
        e->wrong_pred[r] = (int)pred;
        e->n_wrong_shown = r + 1;
    }
    nni_csv_free(&c);
    nni_csv_free(&w);
    nn_ckpt_runner l;
    if (ok && !nn_ckpt_runner_open_data(checkpoint, "test", NULL, &l, &ignored)) {
        for (int r = 0; r < e->n_wrong_shown; r++)
            ok = ok && e->wrong_row[r] < l.data.n;
        if (ok)
            draw_wrong(&l, e);
        nn_ckpt_runner_close(&l);
    }
    if (!ok)
        nni_evaluation_free(e);
    return ok;
}

void nni_evaluation_free(nni_evaluation *e)
{
    for (int c = 0; e->class_names && c < e->classes; c++)
        free(e->class_names[c]);
    free(e->class_names);
    free(e->confusion);
    free(e->predicted);
    free(e->truth);
    for (int k = 0; k < NNI_EVAL_MAX_SHOWN; k++)
        nni_text_free(&e->wrong_image[k]);
    nni_text_free(&e->wrong_grid);
    memset(e, 0, sizeof *e);
}
