/* Parameters, storage, FLOPs and measured forward latency of a model (model/measure.h). */
#include "model/measure.h"

#include <stdlib.h>

#include "core/clock.h"
#include "core/rng.h"

nni_model_size nni_model_size_of(const nn_model *model)
{
    nni_model_size s = {
        .params = nn_model_count_params(model),
        .flops_per_sample = nn_model_flops_per_sample(model),
    };
    /* The views' sizes: n_state_floats counts the alignment padding between them too. */
    for (int k = 0; k < model->n_params; k++)
        if (model->params[k].flags & NN_PARAM_STATE)
            s.state += model->params[k].size;
    s.bytes = (s.params + s.state) * (int64_t)sizeof(float);
    return s;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

nni_latency nni_model_latency(nn_model *model, int64_t batch, int repeats, double min_seconds)
{
    nni_latency lat = {.batch = batch, .repeats = repeats, .forwards_per_repeat = 1};
    nn_pass pass = {.batch = batch, .training = 0};
    float *x = nn_model_input(model);
    nni_rng rng = nni_rng_stream(1, NNI_RNG_NOISE, 0, 0, 0);
    for (int64_t i = 0; i < batch * nn_model_input_size(model); i++)
        x[i] = nni_rng_uniform(&rng);
    /* Warm-up (caches, thread pool), then the fastest of three single forwards sizes a
     * repeat: on a loaded machine one call can be held up many times over. */
    nn_model_forward(model, &pass);
    double once = 0;
    for (int k = 0; k < 3; k++) {
        double start = nni_clock_seconds();
        nn_model_forward(model, &pass);
        double t = nni_clock_seconds() - start;
        once = k == 0 || t < once ? t : once;
    }
    if (once < min_seconds)
        lat.forwards_per_repeat = (int64_t)(min_seconds / (once > 1e-7 ? once : 1e-7)) + 1;
    double *times = malloc((size_t)repeats * sizeof *times);
    if (!times) {
        lat.repeats = 0;
        return lat;
    }
    for (int r = 0; r < repeats; r++) {
        double start = nni_clock_seconds();
        for (int64_t k = 0; k < lat.forwards_per_repeat; k++)
            nn_model_forward(model, &pass);
        times[r] = (nni_clock_seconds() - start) / (double)lat.forwards_per_repeat;
    }
    qsort(times, (size_t)repeats, sizeof *times, compare_doubles);
    lat.min = times[0];
    lat.max = times[repeats - 1];
    lat.median = repeats % 2 ? times[repeats / 2]
                             : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2]);
    free(times);
    return lat;
}
