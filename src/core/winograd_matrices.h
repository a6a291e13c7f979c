/* The transform matrices of F(2, 3) and F(2, 5) (core/winograd.h), from the interpolation
 * points 0, 1, -1 (and 2, -2 for 5x5) and infinity: in one dimension,
 * y = A^T [(G w) .* (B^T d)] is the correlation y[i] = sum over k of d[i + k] w[k], i < 2,
 * and in two the same along rows and columns. Only the rows and columns below t (and r)
 * are used. */
#ifndef NN_CORE_WINOGRAD_MATRICES_H
#define NN_CORE_WINOGRAD_MATRICES_H

#include "core/im2col.h"

typedef struct nni_winograd_matrices {
    int r, t;        /* kernel size, patch size r + 1 */
    float bt[6][6];  /* B^T: t x t */
    float g[6][5];   /* G: t x r */
    float at[2][6];  /* A^T: 2 x t */
} nni_winograd_matrices;

static const nni_winograd_matrices nni_winograd_f2_3 = {
    3, 4,
    {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
    {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}},
    {{1, 1, 1, 0}, {0, 1, -1, -1}},
};

static const nni_winograd_matrices nni_winograd_f2_5 = {
    5, 6,
    {{4, 0, -5, 0, 1, 0},
     {0, -4, -4, 1, 1, 0},
     {0, 4, -4, -1, 1, 0},
     {0, -2, -1, 2, 1, 0},
     {0, 2, -1, -2, 1, 0},
     {0, 4, 0, -5, 0, 1}},
    {{1.0f / 4, 0, 0, 0, 0},
     {-1.0f / 6, -1.0f / 6, -1.0f / 6, -1.0f / 6, -1.0f / 6},
     {-1.0f / 6, 1.0f / 6, -1.0f / 6, 1.0f / 6, -1.0f / 6},
     {1.0f / 24, 1.0f / 12, 1.0f / 6, 1.0f / 3, 2.0f / 3},
     {1.0f / 24, -1.0f / 12, 1.0f / 6, -1.0f / 3, 2.0f / 3},
     {0, 0, 0, 0, 1}},
    {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}},
};

static inline const nni_winograd_matrices *nni_winograd_matrices_of(const nni_conv_geom *g)
{
    return g->kernel_h == 3 ? &nni_winograd_f2_3 : &nni_winograd_f2_5;
}

#endif
