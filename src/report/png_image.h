/* Small images for the report's sample grids: a sample (1 or 3 channels, C x H x W) as a
 * PNG file in memory, as a base64 data URI the page embeds, or as the bytes of a file. */
#ifndef NNI_REPORT_PNG_IMAGE_H
#define NNI_REPORT_PNG_IMAGE_H

#include <stdint.h>

#include "core/text.h"

/* Appends the PNG file's bytes for the image. Values are scaled from their own minimum..maximum
 * to 0..255. Returns 0 when out of memory. */
int nni_png_encode(nni_text *out, const float *chw, int channels, int height, int width);
/* Appends "data:image/png;base64,..." for the image. Values are scaled from their own
 * minimum..maximum to 0..255. Returns 0 when out of memory. */
int nni_png_data_uri(nni_text *out, const float *chw, int channels, int height, int width);

#endif
