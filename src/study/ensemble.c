/* Combining members' outputs: the mean of their softmax probabilities, the softmax of their
 * mean logits, or a majority vote. */
#include "study/ensemble.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/config.h"

typedef void (*combine_fn)(const float *const *logits, int members, int64_t rows,
                           int64_t classes, double *probs);

struct nni_ensemble_method {
    const char *name;
    combine_fn combine;
    const char *help;
};

void nni_softmax_rows(const float *logits, int64_t rows, int64_t classes, double *probs)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *z = logits + r * classes;
        double *p = probs + r * classes, max = z[0], sum = 0;
        for (int64_t c = 1; c < classes; c++)
            max = z[c] > max ? z[c] : max;
        for (int64_t c = 0; c < classes; c++)
            sum += p[c] = exp(z[c] - max);
        for (int64_t c = 0; c < classes; c++)
            p[c] /= sum;
    }
}

static void mean_prob(const float *const *logits, int members, int64_t rows, int64_t classes,
                      double *probs)
{
    double *one = malloc((size_t)(rows * classes) * sizeof *one);
    memset(probs, 0, (size_t)(rows * classes) * sizeof *probs);
    for (int m = 0; one && m < members; m++) {
        nni_softmax_rows(logits[m], rows, classes, one);
        for (int64_t i = 0; i < rows * classes; i++)
            probs[i] += one[i] / members;
    }
    free(one);
}

static void mean_logit(const float *const *logits, int members, int64_t rows, int64_t classes,
                       double *probs)
{
    float *mean = calloc((size_t)(rows * classes), sizeof *mean);
    for (int64_t i = 0; mean && i < rows * classes; i++) {
        double s = 0;
        for (int m = 0; m < members; m++)
            s += logits[m][i];
        mean[i] = (float)(s / members);
    }
    if (mean)
        nni_softmax_rows(mean, rows, classes, probs);
    free(mean);
}

static void vote(const float *const *logits, int members, int64_t rows, int64_t classes,
                 double *probs)
{
    /* The mean probability, scaled far below one vote, decides ties. */
    mean_prob(logits, members, rows, classes, probs);
    for (int64_t i = 0; i < rows * classes; i++)
        probs[i] *= 1e-6 / members;
    for (int m = 0; m < members; m++)
        for (int64_t r = 0; r < rows; r++) {
            const float *z = logits[m] + r * classes;
            int64_t best = 0;
            for (int64_t c = 1; c < classes; c++)
                if (z[c] > z[best])
                    best = c;
            probs[r * classes + best] += 1.0 / members;
        }
}

static const nni_ensemble_method methods[] = {
    {"mean_prob", mean_prob, "the mean of the members' softmax probabilities"},
    {"mean_logit", mean_logit, "the softmax of the members' mean logits"},
    {"vote", vote, "each member votes for its argmax (ties: larger mean probability)"},
};
enum { N_METHODS = sizeof methods / sizeof methods[0] };

nn_status nni_ensemble_find(const char *name, const nni_ensemble_method **out, nn_error *err)
{
    const char *names[N_METHODS + 1] = {NULL};
    for (int i = 0; i < N_METHODS; i++) {
        names[i] = methods[i].name;
        if (!strcmp(name, methods[i].name)) {
            *out = &methods[i];
            return NN_OK;
        }
    }
    return nn_cfg_fail_unknown(err, NULL, "--combine", name, names);
}

const char *nni_ensemble_name(const nni_ensemble_method *method)
{
    return method->name;
}

void nni_ensemble_combine(const nni_ensemble_method *method, const float *const *logits,
                          int members, int64_t rows, int64_t classes, double *probs)
{
    method->combine(logits, members, rows, classes, probs);
}

void nni_ensemble_score(const double *probs, const int32_t *labels, int64_t rows,
                        int64_t classes, double *accuracy, double *nll)
{
    int64_t correct = 0;
    double loss = 0;
    for (int64_t r = 0; r < rows; r++) {
        const double *p = probs + r * classes;
        int64_t best = 0;
        for (int64_t c = 1; c < classes; c++)
            if (p[c] > p[best])
                best = c;
        correct += best == labels[r];
        loss -= log(p[labels[r]] > 1e-300 ? p[labels[r]] : 1e-300);
    }
    *accuracy = (double)correct / (double)rows;
    *nll = loss / (double)rows;
}
