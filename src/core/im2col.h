/* im2col / col2im: the lowering that turns a convolution into one matrix product.
 *
 * For one image x (channels x in_h x in_w), im2col writes the matrix
 * col[(c * kernel_h + ki) * kernel_w + kj][oy * out_w + ox] = x[c][iy][ix] with
 * iy = oy * stride_h - pad_top + ki * dilation_h, ix = ox * stride_w - pad_left + kj * dilation_w,
 * and 0 where (iy, ix) falls in the padding. A convolution is then W (out x rows) * col, and
 * its input gradient is col2im of W^T * dy: the same index map, scattered with +=. */
#ifndef NN_CORE_IM2COL_H
#define NN_CORE_IM2COL_H

#include <stdint.h>

typedef struct nni_conv_geom {
    int64_t channels, in_h, in_w;
    int64_t out_h, out_w;
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w;
    int64_t dilation_h, dilation_w;
    int64_t pad_top, pad_left; /* bottom/right padding is implied by out_h/out_w */
} nni_conv_geom;

/* Rows of col: channels * kernel_h * kernel_w; columns: out_h * out_w. */
static inline int64_t nni_conv_geom_col_rows(const nni_conv_geom *g)
{
    return g->channels * g->kernel_h * g->kernel_w;
}

/* Stride 1 and output rows as wide as input rows (padding `same`): every row of the lowered
 * matrix is the input plane shifted by a constant, with the wrapped columns zeroed. */
static inline int nni_conv_geom_flat(const nni_conv_geom *g)
{
    return g->stride_h == 1 && g->stride_w == 1 && g->out_w == g->in_w;
}

void nni_im2col(const nni_conv_geom *g, const float *x, float *col);
/* x += col2im(col). col is scratch: its padding entries may be overwritten. */
void nni_col2im(const nni_conv_geom *g, float *col, float *x);

/* The transposed lowering from a channels-last image xt[iy][ix][c] (in_h x in_w x
 * channels): rows[oy * out_w + ox][(ki * kernel_w + kj) * channels + c] = xt[iy][ix][c], 0 in
 * the padding. One output pixel's receptive field is one row, copied channel vectors at a
 * time; the weight gradient is then a product with long contiguous rows. Note the column
 * order (ki, kj, c): conv2d reorders the weight gradient it yields into torch's. */
void nni_im2row(const nni_conv_geom *g, const float *xt, float *rows);

/* dst[c][r] = src[r][c] for a rows x cols block (leading dimensions lds, ldd). */
void nni_transpose(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                   int64_t ldd);

#endif
